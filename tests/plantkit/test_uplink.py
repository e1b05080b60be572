"""Uplink without a broker: schema v1 messages, periods, consent, TLS settings (the outbox on disk is in
``test_uplink_outbox.py``)."""

from __future__ import annotations

import json
import math
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.exceptions import UplinkConfigError
from custom_components.sems.plantkit.model import QUANTITY_INFO, Kind, Quantity, device_key
from custom_components.sems.plantkit.monitor import PlantMonitor
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from custom_components.sems.plantkit.uplink import (
    CATEGORY_QUANTITIES,
    SCHEMA_PATH,
    BrokerSettings,
    Category,
    Consent,
    DeviceRef,
    SyncTerms,
    Topics,
    UplinkSample,
    parse_broker_url,
    preview,
    valid_plant_id,
)
from custom_components.sems.plantkit.uplink.aggregate import DevicePeriod, PeriodAggregator, RecordBuilder
from custom_components.sems.plantkit.uplink.messages import (
    PLANT_ROLE,
    QUANTITY_CATEGORY,
    acknowledged_request,
    device_reference,
    dumps,
    erase_ack_payload,
    erase_payload,
    msg_id,
    status_payload,
)
from custom_components.sems.plantkit.uplink.mqtt import classify, tls_context
from custom_components.sems.plantkit.uplink.samples import samples
from simulator.plant import SimulatedPlant
from tests.broker import Pki, schema_validator

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
ALL = tuple(Category)


def sample(
    at: datetime, serial: str = "SN-INV-1", role: str = "inverter", **values: float | None
) -> UplinkSample:
    return UplinkSample(
        device_serial=serial,
        role=role,
        manufacturer="GoodWe",
        model="GW10K-ET",
        at=at,
        values=values,
        status="running",
        faults=(),
    )


def builder(
    categories: tuple[Category, ...] = ALL, device_ref: DeviceRef = DeviceRef.PSEUDONYM
) -> RecordBuilder:
    return RecordBuilder(
        plant="plant-1", consent_id=CONSENT_ID, categories=categories, device_ref=device_ref, key=KEY
    )


CONSENT_ID = "3b8cb2aa-56e8-4e7e-a4ba-473be5deaa4e"


def run_periods(
    samples: list[UplinkSample], categories: tuple[Category, ...] = ALL, resolution: int = 300
) -> list[Any]:
    """Feed samples, close everything, return the record bodies."""
    aggregator = PeriodAggregator(categories=categories, resolution=resolution)
    build = builder(categories)
    closed: list[DevicePeriod] = []
    for item in samples:
        closed.extend(aggregator.add(item))
    closed.extend(aggregator.close_due(datetime.max.replace(tzinfo=UTC)))
    return [record.body for record in build.build(closed)]


def by_category(bodies: list[Any], category: str) -> list[Any]:
    return [body for body in bodies if body["category"] == category]


# --- categories and the schema file -------------------------------------------------------------------------


def test_every_quantity_belongs_to_exactly_one_category() -> None:
    listed = [q for quantities in CATEGORY_QUANTITIES.values() for q in quantities]
    assert sorted(listed) == sorted(Quantity)
    assert len(listed) == len(set(listed))
    assert set(QUANTITY_CATEGORY) == set(Quantity)


def test_schema_file_describes_each_category_exactly() -> None:
    """schema/v1.json is written by hand; it must list each category's quantities with the right shape."""
    schema = json.loads(SCHEMA_PATH.read_text())
    rules = {
        rule["if"]["properties"]["category"]["const"]: rule["then"]["properties"]["values"]
        for rule in schema["$defs"]["data"]["allOf"]
    }
    assert set(rules) == {str(c) for c in Category}
    assert set(schema["$defs"]["category"]["enum"]) == {str(c) for c in Category}
    assert set(schema["$defs"]["quantity"]["enum"]) == {str(q) for q in Quantity}
    for category, quantities in CATEGORY_QUANTITIES.items():
        properties = rules[str(category)]["properties"]
        for quantity in quantities:
            kind = QUANTITY_INFO[quantity].kind
            measured = kind in (Kind.MEASUREMENT, Kind.CONSTANT)
            expected = "#/$defs/measurement" if measured else "#/$defs/counter"
            assert properties[str(quantity)]["$ref"] == expected, quantity
        extra = set(properties) - {str(q) for q in quantities}
        assert extra <= {"state", "active", "seen", "role", "manufacturer", "model", "quantities"}, extra


# --- identifiers --------------------------------------------------------------------------------------------


def test_msg_id_is_deterministic_and_names_plant_device_category_and_period_end() -> None:
    base = msg_id("plant-1", "dev", Category.POWER, T0)
    assert base == msg_id("plant-1", "dev", "power", T0.astimezone(UTC))
    others = {
        msg_id("plant-2", "dev", Category.POWER, T0),
        msg_id("plant-1", "dev2", Category.POWER, T0),
        msg_id("plant-1", "dev", Category.ENERGY, T0),
        msg_id("plant-1", "dev", Category.POWER, T0 + timedelta(minutes=5)),
    }
    assert base not in others
    assert len(others) == 4


def test_device_reference_is_a_keyed_hash_unless_the_serial_is_chosen() -> None:
    pseudonym = device_reference(device_key("SN-INV-1", "inverter"), DeviceRef.PSEUDONYM, KEY)
    assert pseudonym == device_reference(device_key("SN-INV-1", "inverter"), DeviceRef.PSEUDONYM, KEY)
    assert pseudonym != device_reference(
        device_key("SN-INV-1", "inverter"), DeviceRef.PSEUDONYM, b"other key"
    )
    assert pseudonym != device_reference(device_key("SN-INV-1", "battery"), DeviceRef.PSEUDONYM, KEY)
    assert "SN" not in pseudonym
    assert len(pseudonym) == 20
    assert device_reference(device_key("SN-INV-1", "inverter"), DeviceRef.SERIAL, KEY) == "SN-INV-1"
    assert device_reference(device_key("SN-INV-1", "battery"), DeviceRef.SERIAL, KEY) == "SN-INV-1_battery"


@pytest.mark.parametrize(
    ("plant", "valid"),
    [
        ("plant-1", True),
        ("A", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("a/b", False),
        ("a+", False),
        ("#", False),
        ("", False),
        ("-a", False),
    ],
)
def test_plant_ids(plant: str, valid: bool) -> None:
    assert valid_plant_id(plant) is valid


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtts://broker.example:8883", ("broker.example", 8883)),
        ("mqtts://broker.example", ("broker.example", 8883)),
        (" mqtts://10.0.0.2:1884/ ", ("10.0.0.2", 1884)),
        ("mqtts://[::1]:8884", ("::1", 8884)),
        ("mqtts://bücher.example", ("bücher.example", 8883)),  # a name in any script (IDNA)
        (f"mqtts://{'a' * 63}.example", (f"{'a' * 63}.example", 8883)),
    ],
)
def test_broker_urls(url: str, address: tuple[str, int]) -> None:
    assert parse_broker_url(url) == address


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://broker.example",  # no TLS
        "https://broker.example",
        "mqtts://user:pw@broker.example",  # credentials belong in their own fields
        "mqtts://broker.example/topic",
        "mqtts://broker.example:99999",
        "mqtts://broker.example?x=1",
        "mqtts://",
        "broker.example:8883",
        "mqtts://broker.example:0",
        # Not a host name: resolving it would fail in paho's thread (an uncaught error there), not here.
        f"mqtts://{'a' * 64}.example",
        f"mqtts://{'a.' * 127}example",
        "mqtts://a\x00b",
        "mqtts://bro ker.example",
        "mqtts://a..b",
    ],
)
def test_bad_broker_urls(url: str) -> None:
    with pytest.raises(UplinkConfigError):
        parse_broker_url(url)


def test_topics() -> None:
    topics = Topics("plant-1")
    assert topics.data(Category.ENERGY) == "sems/v1/plant-1/data/energy"
    assert topics.consent == "sems/v1/plant-1/consent"
    assert topics.status == "sems/v1/plant-1/status"
    assert topics.erase == "sems/v1/plant-1/erase"
    assert topics.erase_ack == "sems/v1/plant-1/erase/ack"


def test_control_payloads_are_valid() -> None:
    request = "4c7d8d3e-2a42-4c55-9a0e-3a1c8f1f2b61"
    assert not list(schema_validator("status").iter_errors(status_payload("plant-1", "withdrawn")))
    erase = erase_payload(plant="plant-1", request_id=request, requested_at=T0, consent_id=None)
    assert not list(schema_validator("erase").iter_errors(erase))
    ack = erase_ack_payload(plant="plant-1", request_id=request, acknowledged_at=T0)
    assert not list(schema_validator("erase_ack").iter_errors(ack))
    assert acknowledged_request(dumps(ack)) == request
    assert acknowledged_request(b"not json") is None
    assert acknowledged_request(b'{"schema":"other","request_id":"x"}') is None
    assert acknowledged_request(b"[1]") is None


# --- periods ------------------------------------------------------------------------------------------------


def test_power_is_the_mean_min_and_max_of_fresh_readings_per_aligned_period() -> None:
    samples = [sample(T0 + timedelta(seconds=5 * i), pv_power=float(100 * i)) for i in range(120)]  # 10 min
    power = by_category(run_periods(samples, (Category.POWER,)), "power")
    assert [(p["period_start"], p["period_end"]) for p in power] == [
        ("2026-06-21T12:00:00Z", "2026-06-21T12:05:00Z"),
        ("2026-06-21T12:05:00Z", "2026-06-21T12:10:00Z"),
    ]
    assert power[0]["values"]["pv_power"] == {"mean": 2950.0, "min": 0.0, "max": 5900.0, "n": 60}
    assert power[1]["values"]["pv_power"] == {"mean": 8950.0, "min": 6000.0, "max": 11900.0, "n": 60}
    for body in power:
        assert not list(schema_validator("data").iter_errors({**body, "seq": 1, "resumed": False}))


def test_missing_and_invalid_values_are_left_out() -> None:
    samples = [
        sample(T0, pv_power=None, grid_power=10.0),
        sample(T0 + timedelta(seconds=5), pv_power=math.nan, grid_power=math.inf),
        sample(T0 + timedelta(seconds=10), grid_power=30.0),
    ]
    bodies = run_periods(samples)
    assert not by_category(bodies, "power")  # pv_power never had a value
    assert by_category(bodies, "grid")[0]["values"]["grid_power"] == {
        "mean": 20.0,
        "min": 10.0,
        "max": 30.0,
        "n": 2,
    }


def test_energy_is_the_running_total_and_the_period_delta() -> None:
    totals = [1000.0, 1000.5, 1001.0, 1001.2, 1001.9, 1002.0]  # one reading per 2.5 minutes
    samples = [
        sample(T0 + timedelta(seconds=150 * i), pv_energy_total=t, pv_energy_today=t - 1000)
        for i, t in enumerate(totals)
    ]
    energy = by_category(run_periods(samples, (Category.ENERGY,)), "energy")
    assert [e["values"]["pv_energy_total"] for e in energy] == [
        {"total": 1000.5, "delta": 0.5},  # first period: from its first reading
        {"total": 1001.2, "delta": 0.7},  # then from the previous period's total
        {"total": 1002.0, "delta": 0.8},
    ]
    assert sum(e["values"]["pv_energy_today"]["delta"] for e in energy) == pytest.approx(2.0)


def test_a_lifetime_counter_never_goes_backwards_and_a_daily_one_resets() -> None:
    samples = [
        sample(T0, pv_energy_total=500.0, pv_energy_today=20.0),
        sample(T0 + timedelta(minutes=5), pv_energy_total=0.0, pv_energy_today=0.1),  # boot-time 0; midnight
        sample(T0 + timedelta(minutes=10), pv_energy_total=501.0, pv_energy_today=0.5),
    ]
    energy = [e["values"] for e in by_category(run_periods(samples, (Category.ENERGY,)), "energy")]
    assert [e["pv_energy_total"] for e in energy] == [
        {"total": 500.0, "delta": 0.0},
        {"total": 0.0, "delta": None},  # a glitch: no delta, the 500 stays the reference
        {"total": 501.0, "delta": 1.0},
    ]
    assert [e["pv_energy_today"]["delta"] for e in energy] == [0.0, 0.1, 0.4]
    for value in energy:
        assert not list(schema_validator("counter").iter_errors(value["pv_energy_total"]))


def test_only_consented_categories_are_collected() -> None:
    everything = {str(q): 1.0 for q in Quantity}
    samples = [sample(T0 + timedelta(seconds=5 * i), **everything) for i in range(70)]
    aggregator = PeriodAggregator(categories=(Category.ENERGY,), resolution=300)
    for item in samples[:5]:
        aggregator.add(item)
    kept = aggregator.snapshot()[0]
    assert set(kept["stats"]) | set(kept["counters"]) == {
        str(q) for q in CATEGORY_QUANTITIES[Category.ENERGY]
    }

    bodies = run_periods(samples, (Category.ENERGY, Category.FAULTS))
    assert {b["category"] for b in bodies} == {"energy", "faults"}
    for body in bodies:
        assert set(body["values"]) <= {*map(str, CATEGORY_QUANTITIES[Category.ENERGY]), "active", "seen"}


def test_status_faults_and_the_daily_plant_profile() -> None:
    def reading(minutes: int, status: str, faults: tuple[str, ...]) -> UplinkSample:
        return UplinkSample(
            device_serial="SN-BAT-1",
            role="battery",
            manufacturer="GoodWe",
            model="Lynx",
            at=T0 + timedelta(minutes=minutes),
            values={"battery_soc": 50.0},
            status=status,
            faults=faults,
        )

    samples = [
        reading(0, "running", ("bms_soc_low_warning",)),
        reading(2, "unknown", ()),  # an unknown status keeps the last known one
        reading(6, "fault", ("bms_over_voltage_alarm",)),
        reading(24 * 60 + 1, "running", ()),  # the next day: the profile again
    ]
    bodies = run_periods(samples)
    faults = [b["values"] for b in by_category(bodies, "faults")]
    assert faults[0] == {"active": [], "seen": ["bms_soc_low_warning"]}
    assert faults[1] == {"active": ["bms_over_voltage_alarm"], "seen": ["bms_over_voltage_alarm"]}
    assert [b["values"].get("state") for b in by_category(bodies, "status")] == [
        "running",
        "fault",
        "running",
    ]
    profiles = by_category(bodies, "plant_profile")
    assert [p["period_end"][:10] for p in profiles] == ["2026-06-21", "2026-06-22"]
    assert profiles[0]["values"] == {
        "role": "battery",
        "manufacturer": "GoodWe",
        "model": "Lynx",
        "quantities": ["battery_soc"],
    }


def test_a_sample_from_the_past_is_dropped_and_periods_close_when_due() -> None:
    aggregator = PeriodAggregator(categories=ALL, resolution=60)
    assert aggregator.add(sample(T0 + timedelta(minutes=5), pv_power=1.0)) == []
    assert aggregator.add(sample(T0, pv_power=2.0)) == []  # the clock went back: ignored
    assert aggregator.open_periods == 1
    assert aggregator.close_due(T0 + timedelta(minutes=5, seconds=59)) == []
    closed = aggregator.close_due(T0 + timedelta(minutes=6))
    assert len(closed) == 1
    assert closed[0].stats["pv_power"].n == 1
    with pytest.raises(ValueError, match="0"):
        PeriodAggregator(categories=ALL, resolution=0)


def test_open_periods_and_energy_references_survive_a_restart() -> None:
    aggregator = PeriodAggregator(categories=ALL, resolution=300)
    build = builder()
    aggregator.add(sample(T0, pv_energy_total=10.0, pv_power=100.0))
    build.build(aggregator.add(sample(T0 + timedelta(minutes=5), pv_energy_total=11.0, pv_power=300.0)))
    saved = json.loads(json.dumps({"periods": aggregator.snapshot(), "builder": build.snapshot()}))

    again = PeriodAggregator(categories=ALL, resolution=300)
    again.restore([*saved["periods"], {"broken": True}])
    rebuilt = builder()
    rebuilt.restore(saved["builder"])
    again.add(sample(T0 + timedelta(minutes=6), pv_energy_total=12.0, pv_power=500.0))
    bodies = [r.body for r in rebuilt.build(again.close_due(T0 + timedelta(minutes=10)))]
    assert by_category(bodies, "power")[0]["values"]["pv_power"]["mean"] == 400.0
    assert by_category(bodies, "energy")[0]["values"]["pv_energy_total"] == {"total": 12.0, "delta": 2.0}
    assert not by_category(bodies, "plant_profile")  # already sent today
    rebuilt.restore({"previous": "nonsense", "profile_day": None})


# --- consent ------------------------------------------------------------------------------------------------


def terms(**changes: Any) -> SyncTerms:
    values: dict[str, Any] = {
        "destination": "mqtts://broker.example:8883",
        "plant": "plant-1",
        "categories": ["power", "energy", "energy"],
    }
    return SyncTerms.create(**(values | changes))


def test_terms_are_normalised_and_checked() -> None:
    assert terms().categories == (Category.ENERGY, Category.POWER)
    assert terms().resolution == 300
    assert terms().device_ref is DeviceRef.PSEUDONYM
    for bad in ({"plant": "a/b"}, {"resolution": 120}, {"categories": ["location"]}, {"device_ref": "mac"}):
        with pytest.raises(ValueError, match="."):
            terms(**bad)


@pytest.mark.parametrize(
    "change",
    [
        {"destination": "mqtts://other.example:8883"},
        {"plant": "plant-2"},
        {"categories": ["power"]},
        {"categories": ["power", "energy", "grid"]},
        {"resolution": 60},
        {"device_ref": "serial"},
    ],
)
def test_a_consent_covers_only_its_own_terms(change: dict[str, Any]) -> None:
    consent = Consent.grant(terms(), at=T0, user_id="u1", user_name="Alice")
    assert consent.covers(terms())
    assert not consent.covers(terms(**change))


def test_a_consent_of_another_schema_covers_nothing() -> None:
    consent = Consent.from_dict(Consent.grant(terms(), at=T0).to_dict() | {"schema": "sems/v0"})
    assert not consent.covers(terms())


def test_consent_record_round_trip_and_what_is_published() -> None:
    consent = Consent.grant(terms(), at=T0, user_id="8d1f0c", user_name="Alice")
    assert Consent.from_dict(json.loads(json.dumps(consent.to_dict()))) == consent
    payload = consent.payload()
    assert not list(schema_validator("consent").iter_errors(payload))
    text = json.dumps(payload)
    for private in ("Alice", "8d1f0c", "broker.example"):
        assert private not in text
    with pytest.raises(ValueError, match="time zone"):
        Consent.from_dict(consent.to_dict() | {"granted_at": "2026-06-21T12:00:00"})


# --- TLS settings -------------------------------------------------------------------------------------------


def test_tls_context_checks_by_default_and_only_on_request_not(pki: Pki) -> None:
    context = tls_context(BrokerSettings(url="mqtts://b", ca_pem=pki.ca))
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    loose = tls_context(BrokerSettings(url="mqtts://b", verify=False))
    assert loose.verify_mode is ssl.CERT_NONE
    assert not loose.check_hostname
    with_cert = tls_context(
        BrokerSettings(url="mqtts://b", client_cert_pem=pki.client_cert, client_key_pem=pki.client_key)
    )
    assert with_cert.verify_mode is ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    "settings",
    [
        {"ca_pem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"},
        {"ca_pem": "just text"},
        {"ca_pem": "Our CA – paste below\n-----BEGIN CERTIFICATE-----"},  # not ASCII: a TypeError in ssl
        {"client_cert_pem": "cert only"},
        {"client_cert_pem": "Mã khách hàng", "client_key_pem": "khóa"},
        {"client_cert_pem": "x", "client_key_pem": "y"},
    ],
)
def test_unusable_certificates_are_config_errors(settings: dict[str, str]) -> None:
    with pytest.raises(UplinkConfigError):
        tls_context(BrokerSettings(url="mqtts://b", **settings))


def test_connection_failures_are_classified() -> None:
    import socket

    verify = ssl.SSLCertVerificationError(1, "bad")
    verify.verify_message = "unable to get local issuer certificate"
    assert "issuer" in str(classify(verify, "h"))
    assert type(classify(ssl.SSLError(1, "handshake"), "h")).__name__ == "UplinkTlsError"
    assert "resolve h" in str(classify(socket.gaierror(-2, "Name or service not known"), "h"))
    assert "in time" in str(classify(TimeoutError(), "h"))
    assert "Connection refused" in str(classify(ConnectionRefusedError(111, "Connection refused"), "h"))
    assert str(classify(None, "h")) == "cannot connect to h"


def test_the_readme_lists_every_field_of_every_category() -> None:
    """README "What can be sent" is what the user reads before consenting: each category's row names
    every quantity the category sends (the consent step lists them from the same table)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What can be sent", 1)[1].split("###", 1)[0]
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2]
        for line in section.splitlines()
        if line.startswith("| `")
    }
    assert set(rows) == {str(category) for category in Category}
    for category, quantities in CATEGORY_QUANTITIES.items():
        missing = [str(q) for q in quantities if f"`{q}`" not in rows[str(category)]]
        assert not missing, (str(category), missing)


@pytest.mark.parametrize(
    ("serial", "role", "instance"),
    [
        ("SN-INV-1", "inverter", None),
        ("SN 12/345", "inverter", None),  # a SunSpec serial is free text (16 registers of ASCII)
        ("7E-\ufffd\ufffd-01", "meter", None),  # a byte that is not ASCII decodes to U+FFFD
        ("X" * 32, "meter", "grid"),  # the longest SunSpec serial, a role and an instance
    ],
)
def test_a_message_naming_the_serial_is_valid_for_any_serial_a_device_reports(
    serial: str, role: str, instance: str | None
) -> None:
    aggregator = PeriodAggregator(categories=(Category.POWER,), resolution=300)
    aggregator.add(
        UplinkSample(
            device_serial=serial,
            role=role,
            manufacturer="SunSpec",
            model="M",
            at=T0,
            values={"pv_power": 1.0},
            instance=instance,
        )
    )
    build = builder((Category.POWER,), DeviceRef.SERIAL)
    [record] = build.build(aggregator.close_due(T0 + timedelta(hours=1)))
    assert record.body["device"] == device_key(serial, role, instance)
    assert not list(schema_validator("data").iter_errors({**record.body, "seq": 1, "resumed": False}))


async def test_the_plant_as_a_whole_is_sent_as_one_more_device(plant: SimulatedPlant) -> None:
    """The plant's own values (house load, net grid and battery, today's self-consumption, installed
    power) are listed on the consent page, so they leave as a device of role "plant" when consented."""
    endpoint = Endpoint("127.0.0.1", plant.port("goodwe_et_tcp"), TransportType.TCP)
    async with PlantClient(endpoint) as client:
        await client.probe()
        snapshot = await PlantMonitor(client, name="plant").refresh()
    found = samples(snapshot)
    whole = [sample for sample in found if sample.role == PLANT_ROLE]
    assert len(whole) == 1
    assert len(found) == len(snapshot.devices) + 1
    assert whole[0].values[Quantity.SELF_CONSUMED_ENERGY_TODAY] is not None
    assert whole[0].values[Quantity.INSTALLED_POWER] == 10000  # the GW10K-ET's nameplate

    messages = preview(found, terms=terms(categories=list(Category)), key=KEY)
    validator = schema_validator()
    for message in messages:
        validator.validate(message)
    of_plant = {
        m["category"]: m["values"]
        for m in messages
        if m["device"] == device_reference(PLANT_ROLE, DeviceRef.PSEUDONYM, KEY)
    }
    assert Quantity.SELF_CONSUMED_ENERGY_TODAY in of_plant["energy"]
    assert of_plant["plant_profile"]["role"] == PLANT_ROLE
    assert of_plant["plant_profile"][Quantity.INSTALLED_POWER]["mean"] == 10000
    assert of_plant["status"]["state"] == str(snapshot.status)
