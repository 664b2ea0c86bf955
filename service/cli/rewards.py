"""``flask --app wsgi rewards|partners ...``: the rewards catalogue and the partner shops that
take vouchers.

Each command is one transaction: it does all it says or, refused (a bad code, price or phone, a
duplicate), prints ``Error: <why>``, exits non-zero and changes nothing.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from service.cli.common import fail, phone_of, print_table, unit_of_work, utc_now
from service.providers.fulfilment import KINDS
from service.usecases.rewards import add_reward, catalogue, get_reward, price_label, set_stock
from service.usecases.roles import add_partner, set_partner_status

# --- rewards -----------------------------------------------------------------------------------------


@click.group("rewards", cls=AppGroup, help="The rewards catalogue households redeem points for.")
def rewards_group() -> None:
    pass


@rewards_group.command(
    "add", help="A new reward at the end of the catalogue, e.g.: rewards add RICE --name 'Rice 5kg' "
    "--price 4500 --kind goods --stock 20"
)  # fmt: skip
@click.argument("code")
@click.option("--name", required=True, help="What households see in REWARDS, e.g. 'Rice 5kg'.")
@click.option("--price", required=True, type=int, help="Points per unit (per naira of airtime, per item).")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="How it is delivered.")
@click.option("--min", "min_units", type=int, help="The least one REDEEM may ask for (airtime: 100).")
@click.option("--max", "max_units", type=int, help="The most one REDEEM may ask for (airtime: 5000; else 5).")
@click.option("--stock", type=int, help="How many units there are (default: unlimited).")
def rewards_add(
    code: str,
    name: str,
    price: int,
    kind: str,
    min_units: int | None,
    max_units: int | None,
    stock: int | None,
) -> None:
    with unit_of_work() as uow:
        position = add_reward(
            uow.session,
            code,
            name,
            kind,
            price,
            utc_now(),
            min_units=min_units,
            max_units=max_units,
            stock=stock,
        )
        reward = get_reward(uow.session, code)
    assert reward is not None
    click.echo(f"reward {reward.code} is number {position}: {reward.name}, {price_label(reward)}")


@rewards_group.command("list", help="The active rewards, by their number in the REWARDS reply.")
def rewards_list() -> None:
    with unit_of_work() as uow:
        found = catalogue(uow.session)
    rows = [
        (
            reward.position,
            reward.code,
            reward.name,
            reward.kind,
            price_label(reward),
            f"{reward.min_units}-{reward.max_units}",
            "unlimited" if reward.stock is None else reward.stock,
        )
        for reward in found
    ]
    print_table(("no", "code", "name", "kind", "price", "units", "stock"), rows, "no rewards yet")


@rewards_group.command("stock", help="Set what is left of a reward: a number, or 'unlimited'.")
@click.argument("code")
@click.argument("stock")
def rewards_stock(code: str, stock: str) -> None:
    if stock.strip().lower() == "unlimited":
        left = None
    elif stock.strip().isdigit():
        left = int(stock)
    else:
        fail(f"the stock must be a whole number or 'unlimited' (not {stock!r})", 2)
    with unit_of_work() as uow:
        reward = set_stock(uow.session, code, left)
    click.echo(f"{reward.code}: stock {'unlimited' if left is None else left}")


# --- partner shops ----------------------------------------------------------------------------------


@click.group("partners", cls=AppGroup, help="Partner shops: their phones may text VERIFY for vouchers.")
def partners_group() -> None:
    pass


@partners_group.command(
    "add", help="A shop that accepts vouchers, e.g.: partners add --phone 0803... --name 'Iya Basira'"
)
@click.option("--phone", required=True, help="The shop's phone, which will text VERIFY.")
@click.option("--name", required=True, help="The shop's name.")
def partners_add(phone: str, name: str) -> None:
    number = phone_of(phone)
    with unit_of_work() as uow:
        partner = add_partner(uow.session, number, name, utc_now())
    click.echo(f"partner shop {partner.id}: {partner.name} ({partner.phone})")


@partners_group.command("status", help="Suspend a shop (its VERIFY is refused) or make it active again.")
@click.option("--phone", required=True)
@click.argument("status", type=click.Choice(("active", "suspended")))
def partners_status(phone: str, status: str) -> None:
    number = phone_of(phone)
    with unit_of_work() as uow:
        partner = set_partner_status(uow.session, number, status)
    click.echo(f"partner shop {partner.name} ({partner.phone}) is {partner.status}")


REWARDS_GROUPS = (rewards_group, partners_group)
