// A warning from the LWC engine (a bad slot, an unknown property, a failed render) fails
// the test that caused it, like pytest's filterwarnings = error on the Python side.
for (const level of ['error', 'warn']) {
    jest.spyOn(console, level).mockImplementation((...args) => {
        throw new Error(`console.${level} during a test: ${args.map(String).join(' ')}`);
    });
}
