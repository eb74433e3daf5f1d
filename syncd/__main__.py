from syncd.cli import app

app(prog_name="syncd")
