"""BROADCAST_APPROVAL_ABOVE: how many households a broadcast may reach before a second operator
must approve it."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError


def approval_above(*value: str) -> int:
    environ = {"SECRET_KEY": "s", **({"BROADCAST_APPROVAL_ABOVE": value[0]} if value else {})}
    return Settings.from_env(environ).broadcast_approval_above


def test_a_broadcast_to_more_than_200_households_waits_for_approval_unless_set() -> None:
    assert [approval_above(), approval_above(" 50 "), approval_above("0")] == [200, 50, 0]


@pytest.mark.parametrize("value", ["-1", "many", "2.5", "10000001"])
def test_a_bad_value_stops_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(
        SettingsError, match="BROADCAST_APPROVAL_ABOVE must be a whole number from 0 to 10000000"
    ):
        approval_above(value)
