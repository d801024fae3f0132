"""Trade-show lead capture: parse a badge QR code; scan it into a customer (new, or merged)."""

from __future__ import annotations

from litestar import Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from server.domain.access import Viewer
from server.queries import leads
from server.routes.pages import request_locale
from server.schemas import ErrorOut, LeadOut, LeadParse, LeadScan, ScanOut

Req = Request[Viewer, str, object]

_UNRECOGNISED = ResponseSpec(ErrorOut, description="payload_unrecognised: no contact could be read from the payload; "
                                                  "unknown_product: a product is not in the playbook catalogue")


@post("/api/v1/leads/parse", status_code=200, tags=["leads"], responses={422: _UNRECOGNISED})
async def parse_lead(request: Req, data: JSONBody[LeadParse]) -> LeadOut:
    """The contact in a badge's QR text (vCard, MECARD or labelled text); nothing is stored."""
    return leads.lead_out(leads.parse_lead(data.payload))


@post("/api/v1/leads/scan", tags=["leads"], responses={
    200: ResponseSpec(ScanOut, description="merged: the person (same phone or e-mail) is already known"),
    422: _UNRECOGNISED})
async def scan_lead(request: Req, data: JSONBody[LeadScan]) -> Response[ScanOut]:
    """201 with a new customer owned by the scanner, or 200 merged into the known one; either way
    the scan is recorded as an activity on that customer."""
    out, created = await leads.scan_lead(request.user, data, request.app.state.playbook, request_locale(request))
    return Response(out, status_code=201 if created else 200)


LEADS_HANDLERS = [parse_lead, scan_lead]
