"""Related sources in the mapping: validated at start-up, the old spelling kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.sync.children import Children
from syncd.sync.mapping import OPPORTUNITY_PARTNER, load_mapping

ROOT = Path(__file__).resolve().parents[2]
SOURCE = """\
  related:
    - {name: current, sobject: Deal_Registration__c, parent_field: Opportunity__c,
       fills: %s}
"""


def mapping_with(tmp_path: Path, related: str, partner_source: str = "field") -> Path:
    text = (ROOT / "mappings" / "default.yaml").read_text()
    text = text.replace("  related: []\n", related)
    text = text.replace("  partner_source: field\n", f"  partner_source: {partner_source}\n")
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_partner_source_opportunity_partner_declares_the_opportunity_partner_source(
    tmp_path: Path,
) -> None:
    mapping = load_mapping(mapping_with(tmp_path, "  related: []\n", "opportunity_partner"))
    assert mapping.opportunity.sources == (OPPORTUNITY_PARTNER,)
    assert OPPORTUNITY_PARTNER.key == "OpportunityPartner.primary"  # the mirror key of old
    children = Children(mapping)
    record = {"Id": "0065g0000000016AAA", "RoE_Partner__c": "0015g0000000002AAA"}
    rows = {OPPORTUNITY_PARTNER.key: {"0065g0000000016AAA": "0015g0000000001AAA"}}
    assert children.opportunity(record, rows).partner_id == "0015g0000000001AAA"
    assert children.opportunity(record, {}).partner_id is None  # the field is not read


@pytest.mark.parametrize(
    ("related", "partner_source", "expected"),
    [
        (SOURCE % "{amount: Amount__c}", "field", "a related object can fill"),
        (SOURCE % "{partner_id: Partner__c}", "opportunity_partner", "partner_source"),
        (SOURCE % "{registration_status: 'Bad Name'}", "field", "not a Salesforce field"),
    ],
)
def test_a_wrong_related_source_is_a_config_error_naming_the_key(
    tmp_path: Path, related: str, partner_source: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_mapping(mapping_with(tmp_path, related, partner_source))
    text = str(caught.value) + " ".join(caught.value.problems)
    assert "opportunity" in text and "related" in text and expected in text, text
