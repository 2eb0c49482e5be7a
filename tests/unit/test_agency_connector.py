"""`AgencyConnector`: the five agencies are one class configured by data."""

from __future__ import annotations

from importlib.metadata import entry_points

from connectors.agency import AgencyConnector
from connectors.occi import connector as occi
from hub.plugin import CallPolicy, Connector


def test_every_installed_agency_is_an_agency_connector_named_as_its_entry_point() -> None:
    found = {ep.name: ep.load() for ep in entry_points(group="hub.connectors")}
    assert set(found) >= {"rop", "moci", "occi", "labour", "electricity"}
    for name, connector in found.items():
        assert isinstance(connector, AgencyConnector) and isinstance(connector, Connector)
        assert connector.name == name and connector.operations() is connector.declared


def test_with_policy_changes_the_policy_its_clients_get_and_nothing_else() -> None:
    quick = occi.with_policy(CallPolicy(timeout_s=0.5, attempts=1))
    assert quick.policy.timeout_s == 0.5 and occi.policy.timeout_s == 4.0
    assert (quick.name, quick.title, quick.declared) == (
        occi.name,
        occi.title,
        occi.declared,
    )
    assert quick.simulator(seed=3).credentials == occi.simulator(seed=3).credentials
