"""Config flow: find the devices at a host (user and reconfigure steps) and pick a polling preset."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .const import (
    CONF_DEVICES,
    CONF_POLL_PRESET,
    CONF_TRANSPORT,
    CONF_UNIT_IDS,
    DOMAIN,
    LOGGER,
    POLL_PRESET_SECONDS,
    TRANSPORT_AUTO,
    PollPreset,
)
from .coordinator import SemsConfigEntry
from .entry_data import default_poll_seconds, entry_title, identity_to_dict, main_device, stored_devices
from .plantkit.exceptions import PlantError, PlantProtocolError, PlantTimeoutError, UnsupportedDeviceError
from .plantkit.transport import TransportType
from .probe import ProbeResult, async_probe, is_serial_path

TRANSPORT_CHOICES = [TRANSPORT_AUTO, *(str(kind) for kind in TransportType)]
MAX_UNIT_ID = 247
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)

CONNECTION_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_TRANSPORT, default=TRANSPORT_AUTO): SelectSelector(
            SelectSelectorConfig(
                options=TRANSPORT_CHOICES, translation_key=CONF_TRANSPORT, mode=SelectSelectorMode.DROPDOWN
            )
        ),
        # No min/max in the selector: out-of-range values get our translated per-field error.
        vol.Optional(CONF_PORT): NumberSelector(NumberSelectorConfig(mode=NumberSelectorMode.BOX, step=1)),
        vol.Optional(CONF_UNIT_IDS): TextSelector(),
    }
)


def valid_host(host: str, transport: str) -> bool:
    """An IPv4/IPv6 address or a DNS host name; a device path for serial."""
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


def parse_port(value: Any) -> int | None:
    """The port as an int; raises ValueError outside 1-65535 or for fractions."""
    if value is None or value == "":
        return None
    number = float(value)
    if not number.is_integer() or not 1 <= number <= 65535:
        raise ValueError(value)
    return int(number)


def parse_unit_ids(value: str | None) -> list[int]:
    """ "1, 2" -> [1, 2]; empty -> [] (probe the usual ids). Raises ValueError outside 0-247."""
    unit_ids: list[int] = []
    for part in re.split(r"[,;\s]+", (value or "").strip()):
        if not part:
            continue
        unit_id = int(part)
        if not 0 <= unit_id <= MAX_UNIT_ID:
            raise ValueError(part)
        if unit_id not in unit_ids:
            unit_ids.append(unit_id)
    return unit_ids


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


class SemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one endpoint (a host, or a serial port) and every device behind it."""

    VERSION = 1
    MINOR_VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask where the devices are, probe, and create the entry."""
        errors: dict[str, str] = {}
        if user_input is not None:
            probed, data, errors = await self._async_probe_input(user_input)
            if probed is not None:
                main = main_device(probed.devices)
                await self.async_set_unique_id(main.serial)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=entry_title(main), data=data)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(CONNECTION_SCHEMA, _suggested(user_input or {})),
            errors=errors,
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
        )

    async def _async_probe_input(
        self, user_input: dict[str, Any]
    ) -> tuple[ProbeResult | None, dict[str, Any], dict[str, str]]:
        """Validate the form, then probe. Returns the probe result and entry data, or errors by field."""
        errors: dict[str, str] = {}
        host = str(user_input[CONF_HOST]).strip()
        transport = user_input[CONF_TRANSPORT]
        if not valid_host(host, transport):
            errors[CONF_HOST] = "invalid_host"
        port: int | None = None
        serial = transport == TransportType.SERIAL or (transport == TRANSPORT_AUTO and is_serial_path(host))
        if not serial:  # a serial port has no network port; whatever the field holds is ignored
            try:
                port = parse_port(user_input.get(CONF_PORT))
            except ValueError:
                errors[CONF_PORT] = "invalid_port"
        try:
            unit_ids = parse_unit_ids(user_input.get(CONF_UNIT_IDS))
        except ValueError:
            errors[CONF_UNIT_IDS] = "invalid_unit"
        if errors:
            return None, {}, errors

        try:
            probed = await async_probe(host, transport, port, unit_ids or None)
        except (UnsupportedDeviceError, PlantProtocolError):
            errors["base"] = "not_supported"
        except PlantTimeoutError:
            errors["base"] = "timeout"
        except PlantError:
            errors["base"] = "cannot_connect"
        except Exception:
            LOGGER.exception("Unexpected error while probing %s", host)
            errors["base"] = "unknown"
        else:
            endpoint = probed.endpoint
            data = {
                CONF_HOST: endpoint.host,
                CONF_PORT: endpoint.port,
                CONF_TRANSPORT: str(endpoint.transport),
                CONF_UNIT_IDS: unit_ids,
                CONF_DEVICES: [identity_to_dict(device) for device in probed.devices],
            }
            return probed, data, errors
        return None, {}, errors

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: SemsConfigEntry) -> SemsOptionsFlow:
        """The polling options."""
        return SemsOptionsFlow()


class SemsOptionsFlow(OptionsFlow):
    """Choose how often the endpoint is polled."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One preset choice; the update listener applies it without a reload."""
        devices = stored_devices(self.config_entry.data)
        if not devices:
            return self.async_abort(reason="not_local_entry")
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = self.config_entry.options.get(CONF_POLL_PRESET, PollPreset.NORMAL)
        schema = vol.Schema(
            {
                vol.Required(CONF_POLL_PRESET, default=str(current)): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(preset) for preset in PollPreset],
                        translation_key=CONF_POLL_PRESET,
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )
        seconds = {preset: POLL_PRESET_SECONDS[preset] for preset in PollPreset}
        return self.async_show_form(
            step_id="init",
            data_schema=schema,
            description_placeholders={
                "normal": str(default_poll_seconds(devices)),
                "fast": str(seconds[PollPreset.FAST]),
                "gentle": str(seconds[PollPreset.GENTLE]),
                "dongle_safe": str(seconds[PollPreset.DONGLE_SAFE]),
            },
        )
