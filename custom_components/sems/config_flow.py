"""Config flow: find the devices at a host, by address, unit scan, network search, zeroconf or DHCP."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers.http import current_request
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from . import cloud, discovery
from .cloud import (
    CONF_CA,
    CONF_CATEGORIES,
    CONF_CLIENT_KEY,
    CONF_CLOUD,
    CONF_CLOUD_CONSENT,
    CONF_CLOUD_ERASE,
    CONF_PLANT,
    CONF_URL,
    CloudSettings,
    cloud_settings,
    example_messages,
    stored_consent,
)
from .cloud import PROBE_TIMEOUT as CLOUD_PROBE_TIMEOUT
from .cloud_flow import (
    AGREE_SCHEMA,
    CLOUD_SCHEMA,
    CONF_AGREE,
    CONF_ERASE,
    REAUTH_SCHEMA,
    STOP_SCHEMA,
    confirm_placeholders,
    settings_from_input,
    suggested_values,
)
from .const import (
    CONF_ALLOW_CONTROL,
    CONF_DEVICES,
    CONF_METER_LOCATIONS,
    CONF_POLL_PRESET,
    CONF_TRANSPORT,
    CONF_UNAVAILABLE_AFTER,
    CONF_UNIT_IDS,
    DOMAIN,
    LOGGER,
    MAX_UNAVAILABLE_AFTER,
    POLL_PRESET_SECONDS,
    TRANSPORT_AUTO,
    UNIT_SCAN_KEYWORD,
    PollPreset,
)
from .coordinator import SemsConfigEntry, unavailable_after
from .discovery import discovery_settings, followed_data, transport_choice
from .entry_data import default_poll_seconds, stored_devices
from .location_flow import (
    CONF_LOCATION,
    location_schema,
    meter_placeholders,
    placeable_meters,
)
from .plantkit.discovery import (
    DiscoverySettings,
    Found,
    ProbeCandidate,
    SearchResult,
    choice_label,
    dhcp_candidates,
    distinct_choices,
    is_serial_path,
    probe_candidates,
    probe_host,
    search,
    serial_port_problem,
    unit_scan,
    unit_scan_endpoint,
    zeroconf_announcement,
)
from .plantkit.exceptions import (
    NoDeviceAtUnitError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
    UplinkAuthError,
    UplinkConfigError,
    UplinkError,
    UplinkTlsError,
)
from .plantkit.model import DeviceIdentity, MeterLocation
from .plantkit.naming import device_name, main_device, plant_title
from .plantkit.transport import Endpoint, TransportType
from .plantkit.uplink import Consent, parse_broker_url, probe_broker, valid_plant_id
from .plantkit.uplink.mqtt import tls_context

TRANSPORT_CHOICES = [TRANSPORT_AUTO, *(str(kind) for kind in TransportType)]
MAX_UNIT_ID = 247
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")  # "this host on this network": never a destination
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)

_CONNECTION_OPTIONS = {
    vol.Required(CONF_TRANSPORT, default=TRANSPORT_AUTO): SelectSelector(
        SelectSelectorConfig(
            options=TRANSPORT_CHOICES, translation_key=CONF_TRANSPORT, mode=SelectSelectorMode.DROPDOWN
        )
    ),
    # No min/max in the selector: out-of-range values get our translated per-field error.
    vol.Optional(CONF_PORT): NumberSelector(NumberSelectorConfig(mode=NumberSelectorMode.BOX, step=1)),
    vol.Optional(CONF_UNIT_IDS): TextSelector(),
}
CONNECTION_SCHEMA = vol.Schema({vol.Required(CONF_HOST): TextSelector(), **_CONNECTION_OPTIONS})
# The user step also starts the network search: it runs when the host is left empty.
USER_SCHEMA = vol.Schema({vol.Optional(CONF_HOST): TextSelector(), **_CONNECTION_OPTIONS})
CONF_DEVICE = "device"  # the search result the user picks


def valid_host(host: str, transport: str) -> bool:
    """An IPv4/IPv6 address or a DNS host name; a serial port's path for serial (see ``is_serial_path``)."""
    if transport == TransportType.SERIAL:
        return is_serial_path(host)
    if transport == TRANSPORT_AUTO and is_serial_path(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    name = host.removesuffix(".")
    return 0 < len(name) <= 253 and all(_HOSTNAME_LABEL.match(label) for label in name.split("."))


def host_problem(host: str, transport: str) -> str | None:
    """The form's error key for the host field, or None. Nothing is looked up or sent.

    A path in /dev that is no serial port's ("/dev/../etc/passwd", "/dev/watchdog") is
    "invalid_serial_port"; an address that cannot be one device (broadcast, multicast, unspecified,
    reserved, "this network") is "not_a_device_address"; anything else unusable "invalid_host".
    """
    if host.startswith("/dev/") and not is_serial_path(host):
        return "invalid_serial_port"
    if not valid_host(host, transport):
        return "invalid_host"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if (
        address.is_multicast
        or address.is_unspecified
        or address.is_reserved  # incl. 240.0.0.0/4 and the broadcast address 255.255.255.255
        or (address.version == 4 and address in _THIS_NETWORK)
    ):
        return "not_a_device_address"
    return None


def parse_port(value: Any) -> int | None:
    """The port as an int; raises ValueError outside 1-65535 or for fractions."""
    if value is None or value == "":
        return None
    number = float(value)
    if not number.is_integer() or not 1 <= number <= 65535:
        raise ValueError(value)
    return int(number)


def parse_unit_ids(value: str | None, *, serial_line: bool = True) -> list[int]:
    """ "1, 2" -> [1, 2]; empty -> [] (probe the usual ids). Raises ValueError outside 1-247, or 0-247 where
    no serial line is in between: on RTU (serial, RTU over TCP, GoodWe UDP) 0 is the broadcast every
    device acts on and none answers, while Modbus TCP lets a server answer to 0 (Huawei's access point)."""
    lowest = 1 if serial_line else 0
    unit_ids: list[int] = []
    for part in re.split(r"[,;\s]+", (value or "").strip()):
        if not part:
            continue
        unit_id = int(part)
        if not lowest <= unit_id <= MAX_UNIT_ID:
            raise ValueError(part)
        if unit_id not in unit_ids:
            unit_ids.append(unit_id)
    return unit_ids


def wants_unit_scan(user_input: Mapping[str, Any]) -> bool:
    """The user typed "scan" as unit IDs: ask unit after unit behind the host."""
    return str(user_input.get(CONF_UNIT_IDS) or "").strip().casefold() == UNIT_SCAN_KEYWORD


def _suggested(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form values from stored entry data or earlier input."""
    suggested = {key: data[key] for key in (CONF_HOST, CONF_TRANSPORT) if key in data}
    if data.get(CONF_PORT):  # serial entries store port 0, which the form would reject
        suggested[CONF_PORT] = data[CONF_PORT]
    unit_ids = data.get(CONF_UNIT_IDS)
    if isinstance(unit_ids, list):
        suggested[CONF_UNIT_IDS] = ", ".join(str(unit_id) for unit_id in unit_ids)
    elif unit_ids:
        suggested[CONF_UNIT_IDS] = unit_ids
    return suggested


@dataclass(frozen=True, slots=True)
class ConnectionInput:
    """A validated connection form."""

    host: str
    transport: str  # a TransportType value or "auto"
    port: int | None


def _entry_data(probed: Found, unit_ids: Sequence[int]) -> dict[str, Any]:
    """What an entry stores: where the devices answered, the unit ids to probe again, the devices."""
    endpoint = probed.endpoint
    return {
        CONF_HOST: endpoint.host,
        CONF_PORT: endpoint.port,
        CONF_TRANSPORT: str(endpoint.transport),
        CONF_UNIT_IDS: list(unit_ids),
        CONF_DEVICES: [device.to_dict() for device in probed.devices],
    }


def _found_unit_ids(devices: Sequence[DeviceIdentity]) -> list[int]:
    """Unit ids a discovered endpoint's devices answered on (stored, so a re-probe asks exactly these)."""
    return sorted({device.unit_id for device in devices})


@dataclass(slots=True)
class _PendingEntry:
    """An entry the setup flow creates once the user said where its meters measure."""

    title: str
    data: dict[str, Any]
    meters: list[DeviceIdentity]  # still to be asked about, in order
    placements: dict[str, str] = field(default_factory=dict)  # device key -> MeterLocation


def _choice_key(found: Found) -> str:
    return f"{found.host}:{found.port}/{found.transport}"


class SemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one endpoint (a host, or a serial port) and every device behind it.

    Entries come from the user step (an address, a unit scan behind it, or a search of the network) or
    from zeroconf/DHCP announcements; every path probes before it offers anything.
    """

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Nothing found yet."""
        self._user_input: dict[str, Any] = {}
        self._discovered: Found | None = None
        self._search_task: asyncio.Task[SearchResult] | None = None
        self._searched = ""  # the networks searched, for the user
        self._choices: dict[str, Found] = {}
        self._already_configured = 0  # devices the search found that are set up already
        self._unit_scan_target: ConnectionInput | None = None
        self._unit_scan_task: asyncio.Task[Found] | None = None
        self._error_placeholders: dict[str, str] = {}  # what a form's error text names (the unit id)
        self._pending: _PendingEntry | None = None  # an entry waiting for its meters' locations

    @property
    def _settings(self) -> DiscoverySettings:
        return discovery_settings(self.hass)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask where the devices are and probe there; an empty host searches the network instead."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._user_input = user_input
            if not str(user_input.get(CONF_HOST) or "").strip():
                return await self.async_step_search()
            if wants_unit_scan(user_input):
                target, _, errors = await self._async_parse_connection(user_input, unit_ids=False)
                if target is not None:
                    self._unit_scan_target = target
                    return await self.async_step_unit_scan()
            else:
                probed, data, errors = await self._async_probe_input(user_input)
                if probed is not None:
                    main = main_device(probed.devices)
                    await self.async_set_unique_id(main.serial)
                    self._abort_if_unique_id_configured()
                    return await self._async_create_plant(probed.devices, data)
        return self._async_show_user_form(user_input, errors)

    @callback
    def _async_show_user_form(
        self, user_input: Mapping[str, Any] | None, errors: dict[str, str]
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, _suggested(user_input or {})),
            errors=errors,
            description_placeholders=self._error_placeholders,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change how the endpoint is reached; the devices (and so the entities) must stay the same."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            probed, data, errors = await self._async_probe_input(user_input)
            if probed is not None:
                await self.async_set_unique_id(main_device(probed.devices).serial)
                self._abort_if_unique_id_mismatch(reason="different_device")
                # The update listener only applies options, so the reload is scheduled here, once.
                self.hass.config_entries.async_update_entry(entry, data=data)
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                CONNECTION_SCHEMA, _suggested(user_input or entry.data)
            ),
            errors=errors,
            description_placeholders=self._error_placeholders,
        )

    async def _async_parse_connection(
        self, user_input: Mapping[str, Any], *, unit_ids: bool = True
    ) -> tuple[ConnectionInput | None, list[int], dict[str, str]]:
        """Check the form (nothing is sent yet); errors are reported on their own fields."""
        errors: dict[str, str] = {}
        host = str(user_input[CONF_HOST]).strip()
        transport = user_input[CONF_TRANSPORT]
        serial = transport == TransportType.SERIAL or (transport == TRANSPORT_AUTO and is_serial_path(host))
        problem = host_problem(host, transport) or (
            await self.hass.async_add_executor_job(serial_port_problem, host) if serial else None
        )
        if problem is not None:
            errors[CONF_HOST] = problem
        port: int | None = None
        if not serial:  # a serial port has no network port; whatever the field holds is ignored
            try:
                port = parse_port(user_input.get(CONF_PORT))
            except ValueError:
                errors[CONF_PORT] = "invalid_port"
        parsed_units: list[int] = []
        if unit_ids:
            try:
                parsed_units = parse_unit_ids(
                    user_input.get(CONF_UNIT_IDS), serial_line=transport != TransportType.TCP
                )
            except ValueError:
                errors[CONF_UNIT_IDS] = "invalid_unit"
        if errors:
            return None, [], errors
        return ConnectionInput(host, transport, port), parsed_units, errors

    async def _async_probe_input(
        self, user_input: dict[str, Any]
    ) -> tuple[Found | None, dict[str, Any], dict[str, str]]:
        """Validate the form, then probe. Returns the probe result and entry data, or errors by field."""
        self._error_placeholders = {}
        target, unit_ids, errors = await self._async_parse_connection(user_input)
        if target is None:
            return None, {}, errors
        try:
            probed = await probe_host(
                target.host, transport_choice(target.transport), target.port, unit_ids, self._settings
            )
        except (UnsupportedDeviceError, PlantProtocolError):
            errors["base"] = "not_supported"
        except NoDeviceAtUnitError as err:
            errors["base"] = "no_device_at_unit"
            self._error_placeholders = {"unit": ", ".join(str(unit_id) for unit_id in err.unit_ids)}
        except PlantTimeoutError:
            errors["base"] = "timeout"
        except PlantError:
            errors["base"] = "cannot_connect"
        except Exception:
            LOGGER.exception("Unexpected error while probing the address entered")
            errors["base"] = "unknown"
        else:
            return probed, _entry_data(probed, unit_ids), errors
        return None, {}, errors

    # --- unit scan behind one host ----------------------------------------------------------------------

    async def async_step_unit_scan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask one unit id after another behind the host (RS485 gateways, parallel inverters)."""
        target = self._unit_scan_target
        assert target is not None
        if self._unit_scan_task is None:
            self._unit_scan_task = self.hass.async_create_task(self._async_unit_scan(target))
        if not self._unit_scan_task.done():
            return self.async_show_progress(
                step_id="unit_scan",  # needed: the step is entered from the user step
                progress_action="unit_scan",
                progress_task=self._unit_scan_task,
                description_placeholders={
                    "host": target.host,
                    "count": str(len(self._settings.unit_scan_ids)),
                    "seconds": str(round(self._settings.unit_scan.budget)),
                },
            )
        return self.async_show_progress_done(next_step_id="unit_scan_done")

    async def _async_unit_scan(self, target: ConnectionInput) -> Found:
        settings = self._settings
        transport = transport_choice(target.transport)
        endpoint = await unit_scan_endpoint(target.host, transport, target.port, settings)
        return await unit_scan(endpoint, settings, self._async_report_progress)

    async def async_step_unit_scan_done(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create the entry with every unit that answered, or back to the form with the reason."""
        task, self._unit_scan_task = self._unit_scan_task, None
        assert task is not None
        errors: dict[str, str] = {}
        try:
            probed = task.result()
        except PlantTimeoutError:
            errors["base"] = "timeout"  # no unit answered with a supported device
        except PlantError:
            errors["base"] = "cannot_connect"
        except Exception:
            LOGGER.exception("Unexpected error while scanning the unit IDs of the address entered")
            errors["base"] = "unknown"
        else:
            main = main_device(probed.devices)
            await self.async_set_unique_id(main.serial)
            self._abort_if_unique_id_configured()
            return await self._async_create_plant(
                probed.devices, _entry_data(probed, _found_unit_ids(probed.devices))
            )
        return self._async_show_user_form(self._user_input, errors)

    # --- where each meter measures ----------------------------------------------------------------------

    async def _async_create_plant(
        self, devices: Sequence[DeviceIdentity], data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Create the entry, after asking where each meter measures that does not say so itself."""
        self._pending = _PendingEntry(plant_title(devices), data, placeable_meters(devices))
        return await self.async_step_meter_location()

    async def async_step_meter_location(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One question per meter that does not say where it measures, then the entry."""
        pending = self._pending
        assert pending is not None
        if user_input is not None:
            pending.placements[pending.meters.pop(0).key] = str(user_input[CONF_LOCATION])
        if not pending.meters:
            options = {CONF_METER_LOCATIONS: pending.placements} if pending.placements else {}
            return self.async_create_entry(title=pending.title, data=pending.data, options=options)
        return self.async_show_form(
            step_id="meter_location",
            data_schema=location_schema(),
            description_placeholders=meter_placeholders(pending.meters[0]),
        )

    # --- search my network -----------------------------------------------------------------------------

    async def async_step_search(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Search the networks Home Assistant is attached to; the result is listed next."""
        settings = self._settings
        if self._search_task is None:
            plan = await discovery.async_scan_plan(self.hass, settings)
            self._searched = plan.describe()
            self._search_task = self.hass.async_create_task(
                search(plan, settings, self._async_report_progress)
            )
        if not self._search_task.done():
            return self.async_show_progress(
                step_id="search",  # needed: the step is entered from the user step
                progress_action="search",
                progress_task=self._search_task,
                description_placeholders={
                    "networks": self._searched,
                    "seconds": str(round(settings.search.budget)),
                },
            )
        task, self._search_task = self._search_task, None
        found: tuple[Found, ...] = ()
        try:
            result = task.result()
        except Exception:
            LOGGER.exception("Searching %s failed", self._searched)
        else:
            found = result.found
            LOGGER.debug(
                "Search of %s: %d endpoints with devices, %d dongles answered, %.1f s%s",
                self._searched,
                len(found),
                result.dongles,
                result.seconds,
                "" if result.complete else " (time budget spent)",
            )
            await self._async_follow_found(found)
        configured = self._configured_serials()
        choices = distinct_choices(found, configured)
        self._already_configured = len({main_device(f.devices).serial for f in found} & configured)
        self._choices = {_choice_key(choice): choice for choice in choices}
        return self.async_show_progress_done(next_step_id="pick" if self._choices else "nothing_found")

    @callback
    def _async_report_progress(self, fraction: float) -> None:
        """Move the progress bar (Home Assistant 2025.5 and later; 2025.4 shows the text only)."""
        update = getattr(self, "async_update_progress", None)
        if update is not None:
            update(fraction)

    def _configured_serials(self) -> set[str]:
        """Serials of every device of the entries set up (ignored ones may be set up from a search)."""
        serials: set[str] = set()
        for entry in self._async_current_entries(include_ignore=False):
            if entry.unique_id:
                serials.add(entry.unique_id)
            serials.update(device.serial for device in stored_devices(entry.data))
        return serials

    async def _async_follow_found(self, found: Sequence[Found]) -> None:
        """Configured devices the search found only at another address follow there."""
        hosts: dict[str, set[str]] = {}
        for candidate in found:
            hosts.setdefault(main_device(candidate.devices).serial, set()).add(candidate.host)
        for candidate in found:
            serial = main_device(candidate.devices).serial
            entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, serial)
            if entry is None or entry.source == SOURCE_IGNORE or entry.data.get(CONF_HOST) in hosts[serial]:
                continue
            await self._async_follow(entry, candidate.endpoint)

    async def async_step_pick(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """List what the search found (model, serial, address, unit) to pick one."""
        if user_input is not None:
            found = self._choices[user_input[CONF_DEVICE]]
            main = main_device(found.devices)
            await self.async_set_unique_id(main.serial)
            self._abort_if_unique_id_configured()
            return await self._async_create_plant(
                found.devices, _entry_data(found, _found_unit_ids(found.devices))
            )
        options = [
            SelectOptionDict(value=key, label=choice_label(found)) for key, found in self._choices.items()
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_DEVICE): SelectSelector(
                    SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                )
            }
        )
        return self.async_show_form(
            step_id="pick",
            data_schema=schema,
            description_placeholders={
                "count": str(len(self._choices)),
                "networks": self._searched,
                "configured": str(self._already_configured),
            },
        )

    async def async_step_nothing_found(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Nothing new answered: search again, or enter an address."""
        return self.async_show_menu(
            step_id="nothing_found",
            menu_options=["search", "user"],
            description_placeholders={
                "networks": self._searched,
                "configured": str(self._already_configured),
            },
        )

    # --- zeroconf and DHCP -----------------------------------------------------------------------------

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A ``_modbus._tcp`` announcement: TXT manufacturer, model, serial, port, unit."""
        announced = zeroconf_announcement(discovery_info.host, discovery_info.port, discovery_info.properties)
        if announced.serial:
            # Known at this very address (or ignored): nothing needs to be sent to find that out.
            entry = await self.async_set_unique_id(announced.serial)
            if (
                entry is None
                or entry.source == SOURCE_IGNORE
                or followed_data(entry.data, announced.endpoint) is None
            ):
                self._abort_if_unique_id_configured()
        return await self._async_probe_discovered([announced.candidate()], announced=True)

    async def async_step_dhcp(self, discovery_info: DhcpServiceInfo) -> ConfigFlowResult:
        """A DHCP match (SunSpec vendors, Hi-Flying modules of GoodWe dongles): probe before offering."""
        self._async_abort_entries_match({CONF_HOST: discovery_info.ip})
        candidates = dhcp_candidates(
            discovery_info.ip, discovery_info.macaddress, discovery_info.hostname, self._settings
        )
        return await self._async_probe_discovered(candidates, announced=False)

    async def _async_probe_discovered(
        self, candidates: Sequence[ProbeCandidate], *, announced: bool
    ) -> ConfigFlowResult:
        """Probe a discovered device; offer it (or follow it, when it is configured) only if it answers.

        A silent device that announced itself (zeroconf) "cannot connect"; a silent DHCP match is simply
        not one of ours.
        """
        try:
            probed = await probe_candidates(candidates, self._settings.announced)
        except (UnsupportedDeviceError, PlantProtocolError):
            return self.async_abort(reason="not_supported")
        except PlantError:
            if announced:
                return self.async_abort(reason="cannot_connect")
            return self.async_abort(reason="not_supported")
        main = main_device(probed.devices)
        # The unique id is the serial the device itself reports, whatever the announcement said.
        entry = await self.async_set_unique_id(main.serial)
        if (
            entry is not None
            and entry.source != SOURCE_IGNORE
            and await self._async_follow(entry, probed.endpoint)
        ):
            return self.async_abort(reason="already_configured")
        self._abort_if_unique_id_configured()
        self._discovered = probed
        self.context["title_placeholders"] = {"name": f"{device_name(main)} ({probed.endpoint.host})"}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what was found; adding it needs only a confirmation."""
        probed = self._discovered
        assert probed is not None
        main = main_device(probed.devices)
        if user_input is not None:
            return await self._async_create_plant(
                probed.devices, _entry_data(probed, _found_unit_ids(probed.devices))
            )
        self._set_confirm_only()
        endpoint = probed.endpoint
        return self.async_show_form(
            step_id="discovery_confirm",
            description_placeholders={
                "model": device_name(main),
                "serial": main.serial,
                "address": f"{endpoint.host}:{endpoint.port} ({endpoint.transport})",
                "count": str(len(probed.devices)),
            },
        )

    async def _async_follow(self, entry: ConfigEntry, endpoint: Endpoint) -> bool:
        """Move a configured device's entry to ``endpoint`` and reload it; True when it moved.

        It stays where it is when its stored host is a name the user typed, or when the device still
        answers there (a second way to the same device, e.g. a LAN kit and a Wi-Fi dongle, must not
        replace the one the user chose).
        """
        new_data = followed_data(entry.data, endpoint)
        if new_data is None or await discovery.async_answers_at(
            entry.data, str(entry.unique_id), self._settings
        ):
            return False
        LOGGER.info("%s answers at another address; its entry follows it", entry.title)
        self.hass.config_entries.async_update_entry(entry, data=new_data)
        # As in reconfigure: the update listener only applies options, so the reload is scheduled here.
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return True

    # --- reauthentication: the cloud sync's credentials ----------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The broker refused the cloud sync's credentials (Modbus itself has none)."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """New user name and password for the broker; tried before they are stored."""
        entry = self._get_reauth_entry()
        settings = cloud_settings(entry.options)
        if settings is None:
            return self.async_abort(reason="cloud_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            password = user_input.get(CONF_PASSWORD)
            updated = settings.with_credentials(user_input.get(CONF_USERNAME), password)
            try:
                async with asyncio.timeout(CLOUD_PROBE_TIMEOUT):
                    await probe_broker(updated.broker, client_id=updated.client_id)
            except UplinkAuthError:
                errors["base"] = "invalid_auth"
            except UplinkTlsError:
                errors["base"] = "tls_error"
            except (UplinkError, TimeoutError):
                errors["base"] = "cloud_cannot_connect"
            else:
                # The update listener restarts the sync with the new credentials (no reload).
                self.hass.config_entries.async_update_entry(
                    entry, options={**entry.options, CONF_CLOUD: updated.to_options()}
                )
                return self.async_abort(reason="reauth_successful")
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, {CONF_USERNAME: settings.broker.username or ""}
            ),
            errors=errors,
            description_placeholders={"destination": settings.broker.url, "plant": settings.terms.plant},
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: SemsConfigEntry) -> SemsOptionsFlow:
        """Polling, and the opt-in cloud sync."""
        return SemsOptionsFlow()


class SemsOptionsFlow(OptionsFlow):
    """A menu: how often the endpoint is polled, and the opt-in cloud sync (set up, or stop)."""

    def __init__(self) -> None:
        """No cloud settings entered yet, no meter placed yet."""
        self._cloud: CloudSettings | None = None
        self._meters: list[DeviceIdentity] | None = None  # meters still to be asked about
        self._placements: dict[str, str] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Polling, cloud sync, and stopping the cloud sync when it is set up (or still being withdrawn)."""
        if not stored_devices(self.config_entry.data):
            return self.async_abort(reason="not_local_entry")
        options = self.config_entry.options
        menu = ["polling", "meters", "controls", "cloud_sync", "cloud_stop"]
        if not placeable_meters(stored_devices(self.config_entry.data)):
            menu.remove("meters")  # every meter says where it measures
        if not self._offers_controls() and not options.get(CONF_ALLOW_CONTROL):
            menu.remove("controls")  # nothing to control (or not known: the entry is not loaded)
        if CONF_CLOUD not in options and CONF_CLOUD_ERASE not in options:
            menu.remove("cloud_stop")  # offered while there is something to stop
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_meters(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where each meter measures that does not say so itself, one question per meter.

        The update listener reloads the entry when a meter moved: its readings mean something else now,
        so it gets the sensors of its new place and its old ones are removed (their history stays).
        """
        entry = self.config_entry
        if self._meters is None:
            self._meters = placeable_meters(stored_devices(entry.data))
            self._placements = dict(entry.options.get(CONF_METER_LOCATIONS) or {})
        if user_input is not None:
            self._placements[self._meters.pop(0).key] = str(user_input[CONF_LOCATION])
        if self._meters:
            meter = self._meters[0]
            current = self._placements.get(meter.key, MeterLocation.GRID)
            return self.async_show_form(
                step_id="meters",
                data_schema=self.add_suggested_values_to_schema(
                    location_schema(), {CONF_LOCATION: str(current)}
                ),
                description_placeholders=meter_placeholders(meter),
            )
        return self.async_create_entry(data={**entry.options, CONF_METER_LOCATIONS: self._placements})

    def _offers_controls(self) -> bool:
        entry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED or entry.runtime_data.controls is None:
            return False
        return bool(entry.runtime_data.controls.offers_controls())

    async def async_step_controls(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Allow writing battery and export controls (off unless chosen; the form warns what it means).

        The update listener reloads the entry when this changes: the control entities come or go.
        """
        if user_input is not None:
            allowed = bool(user_input.get(CONF_ALLOW_CONTROL, False))
            return self.async_create_entry(data={**self.config_entry.options, CONF_ALLOW_CONTROL: allowed})
        current = bool(self.config_entry.options.get(CONF_ALLOW_CONTROL, False))
        return self.async_show_form(
            step_id="controls",
            data_schema=vol.Schema({vol.Required(CONF_ALLOW_CONTROL, default=current): BooleanSelector()}),
        )

    async def async_step_polling(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One preset choice and the failure threshold; the update listener applies both without a reload."""
        devices = stored_devices(self.config_entry.data)
        if user_input is not None:
            if CONF_UNAVAILABLE_AFTER in user_input:  # the number selector returns a float
                user_input[CONF_UNAVAILABLE_AFTER] = int(user_input[CONF_UNAVAILABLE_AFTER])
            kept = {
                key: value
                for key, value in self.config_entry.options.items()
                if key not in (CONF_POLL_PRESET, CONF_UNAVAILABLE_AFTER)
            }
            return self.async_create_entry(data=kept | user_input)
        current = self.config_entry.options.get(CONF_POLL_PRESET, PollPreset.NORMAL)
        schema = vol.Schema(
            {
                vol.Required(CONF_POLL_PRESET, default=str(current)): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(preset) for preset in PollPreset],
                        translation_key=CONF_POLL_PRESET,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                vol.Optional(
                    CONF_UNAVAILABLE_AFTER,
                    description={"suggested_value": unavailable_after(self.config_entry)},
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=1, max=MAX_UNAVAILABLE_AFTER, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
            }
        )
        seconds = {preset: POLL_PRESET_SECONDS[preset] for preset in PollPreset}
        return self.async_show_form(
            step_id="polling",
            data_schema=schema,
            description_placeholders={
                "normal": str(default_poll_seconds(devices)),
                "fast": str(seconds[PollPreset.FAST]),
                "gentle": str(seconds[PollPreset.GENTLE]),
                "dongle_safe": str(seconds[PollPreset.DONGLE_SAFE]),
            },
        )

    # --- cloud sync (README "Privacy and cloud sync") -----------------------------------------------------

    async def async_step_cloud_sync(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where to send, what and how often. The broker is tried first; nothing is sent before consent."""
        options = self.config_entry.options
        current = cloud_settings(options)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings: CloudSettings | None = None
            try:
                parse_broker_url(str(user_input.get(CONF_URL, "")))
            except UplinkConfigError:
                errors[CONF_URL] = "invalid_url"
            if not valid_plant_id(str(user_input.get(CONF_PLANT, "")).strip()):
                errors[CONF_PLANT] = "invalid_plant"
            if not user_input.get(CONF_CATEGORIES):
                errors[CONF_CATEGORIES] = "no_categories"
            if not errors:
                settings = settings_from_input(user_input, current)
                try:
                    await self.hass.async_add_executor_job(tls_context, settings.broker)
                except UplinkConfigError:
                    errors[CONF_CA] = "invalid_certificate"
            if settings is not None and not errors:
                try:
                    async with asyncio.timeout(CLOUD_PROBE_TIMEOUT):
                        await probe_broker(settings.broker, client_id=settings.client_id)
                except UplinkAuthError:
                    errors["base"] = "invalid_auth"
                except UplinkTlsError:
                    errors["base"] = "tls_error"
                except (UplinkError, TimeoutError):
                    errors["base"] = "cloud_cannot_connect"
            if settings is not None and not errors:
                self._cloud = settings
                consent = stored_consent(options)
                if consent is not None and consent.covers(settings.terms):
                    # Credentials or TLS only: the consent still covers what leaves and where.
                    return self.async_create_entry(data={**options, CONF_CLOUD: settings.to_options()})
                if consent is not None:
                    # What leaves, or where, changed: sync pauses now, until the user agrees again.
                    self.hass.config_entries.async_update_entry(
                        self.config_entry, options={**options, CONF_CLOUD: settings.to_options()}
                    )
                return await self.async_step_cloud_confirm()
        suggested = (
            {k: v for k, v in user_input.items() if k not in (CONF_PASSWORD, CONF_CLIENT_KEY)}
            if user_input is not None
            else suggested_values(current)
        )
        return self.async_show_form(
            step_id="cloud_sync",
            data_schema=self.add_suggested_values_to_schema(CLOUD_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_cloud_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """State exactly what leaves, to where, how often, with an example; "I agree" starts unticked."""
        settings = self._cloud
        assert settings is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input.get(CONF_AGREE):
                consent = Consent.grant(settings.terms, at=dt_util.utcnow(), **_current_user())
                options = {
                    **self.config_entry.options,
                    CONF_CLOUD: settings.to_options(),
                    CONF_CLOUD_CONSENT: consent.to_dict(),
                }
                return self.async_create_entry(data=options)
            errors[CONF_AGREE] = "consent_required"
        entry = self.config_entry
        coordinator = entry.runtime_data if entry.state is ConfigEntryState.LOADED else None
        # The consent text names the device reference in the user's language, as the form before did.
        language = self.hass.config.language
        selectors = await async_get_translations(self.hass, language, "selector", {DOMAIN})
        device_ref = settings.terms.device_ref
        label = selectors.get(f"component.{DOMAIN}.selector.cloud_device_ref.options.{device_ref}")
        placeholders = confirm_placeholders(settings, example_messages(coordinator, settings))
        return self.async_show_form(
            step_id="cloud_confirm",
            data_schema=AGREE_SCHEMA,
            errors=errors,
            description_placeholders=placeholders | {"device_ref": label or str(device_ref)},
        )

    async def async_step_cloud_stop(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One step, as easy as granting: stop at once, purge, ask to erase (ticked), forget credentials."""
        entry = self.config_entry
        if user_input is not None:
            options = await cloud.async_withdraw(self.hass, entry, erase=bool(user_input[CONF_ERASE]))
            return self.async_create_entry(data=options)
        settings = cloud_settings(entry.options)
        return self.async_show_form(
            step_id="cloud_stop",
            data_schema=STOP_SCHEMA,
            description_placeholders={
                "destination": settings.broker.url if settings is not None else "-",
                "plant": settings.terms.plant if settings is not None else "-",
            },
        )


def _current_user() -> dict[str, str | None]:
    """The Home Assistant user behind the request that runs the flow (for the consent record)."""
    request = current_request.get()
    user = request.get(KEY_HASS_USER) if request is not None else None
    return {"user_id": getattr(user, "id", None), "user_name": getattr(user, "name", None)}
