"""What a household says of a pickup's receipt: YES (it is right) and RATE (how the collector
did). A NO opens a dispute (``disputes``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import upsert
from service.models import collections_t, ratings_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member
from service.usecases.pickups import Pickup, pickup_by_reference
from service.usecases.roles import Collector, get_collector


def own_pickup(session: Session, household: Member | None, reference: str) -> Pickup:
    """The household's own pickup with this reference; ``Refused`` for a stranger, or for a
    reference that is not one of its pickups (whoever else's it may be)."""
    if household is None:
        raise Refused("not_member")
    pickup = pickup_by_reference(session, reference)
    if pickup is None or pickup.household_id != household.id:
        raise Refused("unknown_pickup", ref=reference)
    return pickup


def confirm(uow: UnitOfWork, household: Member | None, reference: str) -> None:
    """YES: the household confirms the pickup (the first confirmation stands)."""
    pickup = own_pickup(uow.session, household, reference)
    if pickup.confirmed_at is None:
        uow.session.execute(
            collections_t.update().where(collections_t.c.id == pickup.id).values(confirmed_at=uow.now)
        )


def rate(uow: UnitOfWork, household: Member | None, reference: str, stars: int) -> Collector:
    """RATE: the household's stars for the collector of that pickup (a second rating replaces
    the first); the collector rated."""
    pickup = own_pickup(uow.session, household, reference)
    upsert(
        uow.session,
        ratings_t,
        {
            "collection_id": pickup.id,
            "collector_id": pickup.collector_id,
            "stars": stars,
            "rated_at": uow.now,
        },
        conflict=("collection_id",),
        update={"stars": stars, "rated_at": uow.now},
        returning=(ratings_t.c.collection_id,),
    )
    collector = get_collector(uow.session, pickup.collector_id)
    assert collector is not None
    return collector


def latest_pickup(session: Session, household: Member) -> Pickup | None:
    """The household's latest pickup that stands (credited): the one USSD offers to rate."""
    row = session.execute(
        select(collections_t.c.reference)
        .where(collections_t.c.household_id == household.id, collections_t.c.status == "credited")
        .order_by(collections_t.c.occurred_at.desc(), collections_t.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else pickup_by_reference(session, row.reference)
