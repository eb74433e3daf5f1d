"""RoE_Reason__c in words: partners by name, registrations by their dates (issue 11).

The scenario world of ``test_engine_scenarios`` with partners that have real names; the
whole text is pinned for the codes that name partners and dates, as a rep reads it.
"""

from __future__ import annotations

from datetime import date

import pytest

from syncd.engine.domain import Account, Decisions, Opportunity
from syncd.engine.policy import Policy, load_policy
from syncd.engine.rules import text
from syncd.engine.rules.text import reason_text, with_words
from tests.unit.test_engine_scenarios import (
    NOW,
    NP,
    OPP,
    OPP2,
    P1,
    P2,
    PAM,
    RULES,
    C,
    World,
    registration,
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(RULES)


def named_world() -> World:
    world = World()
    world.accounts[P1] = Account(P1, name="Northwind Solutions", is_partner=True)
    world.accounts[P2] = Account(P2, name="Contoso Partners", is_partner=True)
    return world


def reason(decisions: Decisions, key: str = OPP) -> str:
    return decisions.opportunities[key].reason_text


def test_registered_deal_without_its_partner_names_the_partner_and_the_dates(
    policy: Policy,
) -> None:  # S04
    world = named_world().deal(registration=registration(P1, date(2026, 11, 1)))
    assert reason(world.decide(policy)) == (
        "PARTNER_DISPLACED, DEAL_REG_APPROVED: Northwind Solutions, the partner the rules "
        "protect, is not on the deal; registered by Northwind Solutions, approved 2026-11-01, "
        "valid through 2027-01-30"
    )


def test_a_replaced_partner_reads_the_same(policy: Policy) -> None:  # S05
    """The words name the protected partner only (the deal shows its own partner): one text
    per protected partner serves every deal it is displaced from."""
    world = named_world().deal(registration=registration(P1, date(2026, 11, 1)), partner_id=P2)
    assert reason(world.decide(policy)).startswith(
        "PARTNER_DISPLACED, DEAL_REG_APPROVED: Northwind Solutions, the partner the rules "
        "protect, is not on the deal; registered by Northwind Solutions"
    )


def test_joint_on_a_named_account_says_the_vendor_leads_with_the_partner(
    policy: Policy,
) -> None:  # S07
    world = named_world().account(named=True)
    world.deal(registration=registration(P1, date(2026, 11, 1)), partner_id=P1)
    assert reason(world.decide(policy)) == (
        "DEAL_REG_APPROVED: registered by Northwind Solutions, approved 2026-11-01, valid "
        "through 2027-01-30 (named account: the vendor leads jointly)"
    )


def test_an_expired_registration_says_when_it_ran_out(policy: Policy) -> None:  # S06
    world = named_world().account(named=True)
    world.deal(registration=registration(P1, date(2026, 8, 1)))
    assert reason(world.decide(policy)) == (
        "NAMED_ACCOUNT, DEAL_REG_EXPIRED: named account, vendor leads; registration by "
        "Northwind Solutions, approved 2026-08-01, expired after 2026-10-30: it protects no one"
    )


def test_a_lost_conflict_names_the_winner_its_deal_and_its_date(policy: Policy) -> None:  # S09
    world = named_world().deal(partner_id=P1, registration=registration(P1, date(2026, 11, 10)))
    world.add_deal(
        Opportunity(
            OPP2, name="Fabrikam — Data Platform", account_id=C, owner_id=PAM, partner_id=P2,
            registration=registration(P2, date(2026, 11, 5)),
        )
    )  # fmt: skip
    assert reason(world.decide(policy)) == (
        "DEAL_REG_CONFLICT, DEAL_REG_APPROVED: Contoso Partners registered first (on Fabrikam "
        "— Data Platform, approved 2026-11-05), before Northwind Solutions; registered by "
        "Northwind Solutions, approved 2026-11-10, valid through 2027-02-08"
    )


def test_an_incumbent_is_named_on_a_renewal_and_a_global_account(policy: Policy) -> None:
    renewal = named_world().account(incumbent_partner_id=P1).deal(is_renewal=True, partner_id=P1)
    assert reason(renewal.decide(policy)) == (
        "RENEWAL_INCUMBENT: renewal follows the relationship owner; incumbent Northwind Solutions"
    )
    joint = named_world().account(global_account=True, incumbent_partner_id=P1)
    assert reason(joint.deal(partner_id=P1).decide(policy)) == (
        "GLOBAL_ACCOUNT: global account, vendor leads; jointly with Northwind Solutions"
    )


def test_a_partner_without_a_name_is_named_by_its_id(policy: Policy) -> None:
    world = named_world().deal(registration=registration(P1, date(2026, 11, 1)))
    world.accounts[P1] = Account(P1, name="", is_partner=True)
    assert f"{P1}, the partner the rules protect, is not on" in reason(world.decide(policy))


def test_a_customer_named_as_partner_is_named(policy: Policy) -> None:  # S35
    world = named_world().add_account(Account(NP, name="Fabrikam Retail"))
    assert f"partner Fabrikam Retail ({NP}) is not a partner account" in reason(
        world.deal(partner_id=NP).decide(policy)
    )


def test_the_words_do_not_depend_on_the_clock(policy: Policy) -> None:
    """Same data, another day (registration still valid): the same text, so an echo cycle
    writes nothing."""
    world = named_world().deal(registration=registration(P1, date(2026, 11, 1)))
    later = NOW.replace(day=20)
    assert reason(world.decide(policy)) == reason(world.decide(policy, later))


def test_with_words_puts_what_must_not_be_cut_first() -> None:
    reasons = ("DEAL_REG_APPROVED",)
    long = reason_text(reasons, "x" * 300)
    held = with_words(reasons, long, "compensation still withheld")
    assert held.startswith("DEAL_REG_APPROVED: compensation still withheld; xxx")
    assert len(held) == 255 and held.endswith("…")


def test_names_are_put_on_one_line(policy: Policy) -> None:
    world = named_world().deal(registration=registration(P1, date(2026, 11, 1)))
    world.accounts[P1] = Account(P1, name=" Northwind\n  Solutions ", is_partner=True)
    assert reason(world.decide(policy)).startswith(
        "PARTNER_DISPLACED, DEAL_REG_APPROVED: Northwind Solutions, the partner"
    )


def test_the_reason_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_CACHE", {})
    monkeypatch.setattr(text, "MAX_CACHED", 10)
    for n in range(50):
        reason_text(("DEAL_REG_APPROVED",), f"registered {n}")
    assert len(text._CACHE) == 10
    assert reason_text(("DEAL_REG_APPROVED",), "r 49") == (
        "DEAL_REG_APPROVED: r 49; approved deal registration protects the partner"
    )
