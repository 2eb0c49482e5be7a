"""A stand-in for the electricity company's web services: a real SOAP 1.1 server on loopback
with switchable faults.

Accounts come from the shared world of establishments (`connectors.world`, through
`connectors.electricity.data`), so premises and arrears agree with the other agencies.
New-connection requests are kept in memory, keyed by building permit: filing twice for the
same permit returns the same request number, as the company does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from lxml import etree

from connectors.electricity.contract import (
    ACCOUNT_STANDING_REQUEST,
    NAMESPACE,
    NEW_CONNECTION_REQUEST,
    SERVICE_NAME,
    WSDL_PATH,
    XSD_PATH,
)
from connectors.electricity.data import Account, ConnectionBook, find_account
from connectors.soap.simulator import SoapAgencySimulator
from hub.plugin import Handler, SoapMessage

DEFAULT_CREDENTIALS = {"username": "hub", "password": "electricity-sim-secret"}


class ElectricitySimulator(SoapAgencySimulator):
    """The company's customer and connection services on loopback."""

    def __init__(
        self,
        seed: int = 0,
        *,
        credentials: Mapping[str, str] | None = None,
        today: date | None = None,
        latency_s: float = 1.5,
        stall_s: float = 30.0,
    ) -> None:
        self.seed = seed
        self.today = today
        self.connections = ConnectionBook()
        super().__init__(
            namespace=NAMESPACE,
            prefix="medc",
            wsdl_path=WSDL_PATH,
            xsd_path=XSD_PATH,
            service_name=SERVICE_NAME,
            credentials=credentials or DEFAULT_CREDENTIALS,
            unavailable="MEDC customer system",
            latency_s=latency_s,
            stall_s=stall_s,
        )

    def operations(self) -> Mapping[str, Handler]:
        return {
            ACCOUNT_STANDING_REQUEST: self._account_standing,
            NEW_CONNECTION_REQUEST: self._new_connection,
        }

    def account_element(self, account: Account, *, broken: bool = False) -> etree._Element:
        """A medc:Account as electricity.xsd defines it; `broken` makes it break the XSD the
        way a careless release might: arrears with a currency and no premises id."""
        E = self.E
        parts = [
            E.AccountNumber(account.account_no),
            E.HolderNameEn(account.holder_name_en),
            E.HolderNameAr(account.holder_name_ar),
        ]
        if not broken:
            parts.append(E.PremisesId(account.premises_id))
        arrears = f"{account.arrears_omr} OMR" if broken else account.arrears_omr
        parts += [
            E.Status(account.status),
            E.ArrearsOmr(arrears),
            E.LastPaymentDate(account.last_payment_date.isoformat()),
        ]
        return E.Account(*parts)

    async def _account_standing(self, message: SoapMessage, caller: str) -> etree._Element:
        self.check_request(message)
        E = self.E
        broken = self.fault == "contract-break"
        account = find_account(self.text(message, "AccountNumber"), self.seed, self.today)
        if account is None:
            return E.AccountStandingResponse(E.Found("no" if broken else "false"))
        return E.AccountStandingResponse(
            E.Found("true"), self.account_element(account, broken=broken)
        )

    async def _new_connection(self, message: SoapMessage, caller: str) -> etree._Element:
        """File the request (or find the one filed for this permit) and say when to expect it."""
        self.check_request(message)
        E = self.E
        owner = message.payload.find(f"{{{NAMESPACE}}}Owner")
        civil_id = (owner.findtext(f"{{{NAMESPACE}}}CivilId") if owner is not None else "") or ""
        filed = self.connections.file(
            self.text(message, "BuildingPermitNumber"),
            civil_id.strip(),
            int(self.text(message, "LoadKva")),
            self.today or date.today(),
        )
        expected = filed.expected_connection_date
        if self.fault == "contract-break":
            # Filed all the same, but answered without the request number and with a local date.
            return E.NewConnectionResponse(
                E.BuildingPermitNumber(filed.permit_no),
                E.ExpectedConnectionDate(expected.strftime("%d/%m/%Y")),
            )
        return E.NewConnectionResponse(
            E.RequestNumber(filed.request_no),
            E.BuildingPermitNumber(filed.permit_no),
            E.ExpectedConnectionDate(expected.isoformat()),
        )
