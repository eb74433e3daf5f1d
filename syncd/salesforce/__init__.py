"""The org client: auth, retry, API accounting, pull and push over simple-salesforce.

It knows nothing of rules; ``syncd.sync.cycle`` wires it to the engine and the store.
"""

from syncd.salesforce.client import OrgClient
from syncd.salesforce.config import SalesforceSettings
from syncd.salesforce.pull import pull, pull_by_ids, pull_soql
from syncd.salesforce.push import FailedRecord, WriteJob, Writer, Written
from syncd.salesforce.results import ApiLimits, ApiUsage, RecordFailure, RecordResult
from syncd.salesforce.retry import RetryPolicy
from syncd.salesforce.soql import id_chunks, select, soql_format

__all__ = [
    "ApiLimits",
    "ApiUsage",
    "FailedRecord",
    "OrgClient",
    "RecordFailure",
    "RecordResult",
    "RetryPolicy",
    "SalesforceSettings",
    "WriteJob",
    "Writer",
    "Written",
    "id_chunks",
    "pull",
    "pull_by_ids",
    "pull_soql",
    "select",
    "soql_format",
]
