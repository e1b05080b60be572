"""One coordinator per endpoint: reads every device behind it in one planned pass."""

from __future__ import annotations

from datetime import timedelta
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_POLL_PRESET, DOMAIN, LOGGER, POLL_PRESET_SECONDS, PollPreset
from .entry_data import default_poll_seconds
from .plantkit.client import PlantClient
from .plantkit.exceptions import PlantConnectionError, PlantError
from .plantkit.model import DeviceIdentity, DeviceReading

type SemsConfigEntry = ConfigEntry[SemsCoordinator]


def poll_interval(entry: ConfigEntry, devices: list[DeviceIdentity]) -> timedelta:
    """The interval the entry's options ask for; "normal" is the main device profile's default.

    Profiles set that default: GoodWe 30 s, because polling through the Wi-Fi dongle more often starves
    its upload to the SEMS Portal; SunSpec and Eastron devices on a wired gateway are fine with 10 s.
    """
    try:
        preset = PollPreset(entry.options.get(CONF_POLL_PRESET, PollPreset.NORMAL))
    except ValueError:
        preset = PollPreset.NORMAL
    seconds = POLL_PRESET_SECONDS[preset] or default_poll_seconds(devices)
    return timedelta(seconds=seconds)


class SemsCoordinator(DataUpdateCoordinator[dict[str, DeviceReading]]):
    """Polls one endpoint; ``data`` maps each device's key to its latest reading."""

    config_entry: SemsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: SemsConfigEntry, client: PlantClient) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {client.endpoint}",
            update_interval=poll_interval(entry, client.devices),
        )
        self.client = client

    @property
    def devices(self) -> list[DeviceIdentity]:
        """The devices this coordinator reads."""
        return self.client.devices

    @override
    async def _async_update_data(self) -> dict[str, DeviceReading]:
        try:
            readings = await self.client.read()
        except PlantError as err:
            if isinstance(err, PlantConnectionError):
                # Start the next poll on a fresh connection (a device that rebooted drops old sockets).
                await self.client.close()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="communication_error",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err
        return {reading.identity.key: reading for reading in readings}

    @override
    async def async_shutdown(self) -> None:
        """Stop polling and close the connection (called on unload and when setup fails)."""
        await super().async_shutdown()
        await self.client.close()

    def apply_options(self) -> bool:
        """Use the interval the options ask for, without a reload (no reconnect, no new probe).

        Returns True when the interval changed.
        """
        interval = poll_interval(self.config_entry, self.devices)
        if interval == self.update_interval:
            return False
        LOGGER.debug("Polling %s every %s", self.client.endpoint, interval)
        self.update_interval = interval
        return True
