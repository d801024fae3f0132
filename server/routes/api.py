"""JSON API: me, customers, activities. Thin: parse, call a query, answer."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.domain.access import Viewer
from server.queries import activities, customers, users
from server.schemas import (
    ActivityCreate,
    ActivityOut,
    ActivityPage,
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    UserOut,
)

Req = Request[Viewer, str, object]


@get("/api/v1/me", tags=["me"])
async def get_me(request: Req) -> UserOut:
    return users.user_out(request.user)


@post("/api/v1/customers", tags=["customers"])
async def create_customer(request: Req, data: JSONBody[CustomerCreate]) -> CustomerOut:
    return await customers.create_customer(request.user, data)


@get("/api/v1/customers", tags=["customers"])
async def list_customers(
    request: Req,
    q: Annotated[str | None, QueryParameter(max_length=200, description="name, company, email or phone digits")] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = customers.PAGE_SIZE,
) -> CustomerPage:
    return await customers.search_customers(request.user, q, cursor, limit)


@get("/api/v1/customers/{customer_id:str}", tags=["customers"])
async def get_customer(request: Req, customer_id: FromPath[str]) -> CustomerOut:
    return await customers.get_customer(request.user, customer_id)


@get("/api/v1/customers/{customer_id:str}/activities", tags=["activities"])
async def list_customer_activities(request: Req, customer_id: FromPath[str]) -> ActivityPage:
    return await activities.list_activities(request.user, customer_id)


@post("/api/v1/activities", tags=["activities"])
async def create_activity(request: Req, data: JSONBody[ActivityCreate]) -> ActivityOut:
    return await activities.create_activity(request.user, data)


API_HANDLERS = [get_me, create_customer, list_customers, get_customer, list_customer_activities,
                create_activity]
