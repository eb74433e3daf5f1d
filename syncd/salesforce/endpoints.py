"""The request functions ``OrgClient._call`` runs, each with the simple-salesforce client.

Each returns an answer checked for the shape Salesforce gives, or raises: a failed
Composite sub-response raises the exception its status raises at the top level, and an
answer of the wrong shape raises ``LookupError``/``TypeError``. Either way the client's
retry policy and its one classifier (``errors.py``) decide what happens next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from simple_salesforce import Salesforce

from syncd.salesforce.errors import sub_response_error


def composite(sf: Salesforce, *, payload: dict[str, Any]) -> list[dict[str, Any]]:
    body = restful(sf, path="composite", method="POST", json=payload)
    answers = body.get("compositeResponse") if isinstance(body, dict) else None
    if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
        raise LookupError("the answer has no compositeResponse list")
    return answers


def query_bodies(
    sf: Salesforce, *, payload: dict[str, Any], names: list[str], described: Sequence[str] = ()
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each query's result from one composite call, and the describes that rode along.

    A failed query raises what it would have raised as a call of its own (so the retry
    policy and the classifier apply); a failed describe is only left out: the object is
    described by a call of its own if it is ever needed.
    """
    answers = {a.get("referenceId"): a for a in composite(sf, payload=payload)}
    bodies: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(names):
        answer = answers.get(reference(index))
        if answer is None:
            raise LookupError(f"the composite answer lacks the change query for {name}")
        failure = sub_response_error(answer, f"change query for {name}")
        if failure is not None:
            raise failure
        bodies[name] = page(answer.get("body"))
    describes: dict[str, dict[str, Any]] = {}
    for index, sobject in enumerate(described):
        answer = answers.get(describe_reference(index)) or {}
        body = answer.get("body")
        if answer.get("httpStatusCode") == 200 and isinstance(body, dict) and "fields" in body:
            describes[sobject] = body
    return bodies, describes


def query_url(version: str, soql: str, *, deleted: bool) -> str:
    return (
        f"/services/data/v{version}/{'queryAll' if deleted else 'query'}?{urlencode({'q': soql})}"
    )


def reference(index: int) -> str:
    return f"q{index}"


def describe_url(version: str, sobject: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject}/describe"


def describe_reference(index: int) -> str:
    return f"d{index}"


def restful(sf: Salesforce, *, path: str, method: str = "GET", **kwargs: Any) -> Any:
    return sf.restful(path, method=method, **kwargs)


def query(
    sf: Salesforce, *, soql: str, include_deleted: bool, kwargs: dict[str, Any]
) -> dict[str, Any]:
    return page(sf.query(soql, include_deleted=include_deleted, **kwargs))


def query_more(sf: Salesforce, *, url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    return page(sf.query_more(url, identifier_is_url=True, **kwargs))


def page(result: Any) -> dict[str, Any]:
    """A query result as Salesforce sends it; anything else raises, to be classified."""
    records = result.get("records") if isinstance(result, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise TypeError("a query answer without a list of records")
    total = result.setdefault("totalSize", len(records))
    if not isinstance(total, int) or isinstance(total, bool):
        raise TypeError(f"a query answer whose totalSize is {total!r}")
    return result


def strip(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def typed(sobject: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Collections need ``attributes.type`` on every record."""
    return [{"attributes": {"type": sobject}, **strip(r)} for r in records]
