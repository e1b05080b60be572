"""Cloud sync sensors: what left the LAN, per entry, on the plant device (all diagnostic).

Sync state (off/active/paused/error), messages queued, sent and dropped, the last acknowledged sync, and
one "sent" counter per category. Imported by the sensor platform, fed by ``CloudSync``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.helpers.typing import StateType

from .cloud import CloudSync
from .entity import SemsBaseEntity, plant_device_info
from .plantkit.uplink import Category, SyncState


@dataclass(frozen=True, kw_only=True)
class SemsCloudSensorEntityDescription(SensorEntityDescription):
    """A sensor of the entry's cloud sync."""

    value_fn: Callable[[CloudSync], StateType | datetime]


def _sent_description(category: Category) -> SemsCloudSensorEntityDescription:
    return SemsCloudSensorEntityDescription(
        key=f"cloud_sent_{category}",
        translation_key=f"cloud_sent_{category}",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda sync: sync.stats.sent_by_category.get(str(category), 0),
    )


CLOUD_SENSORS: tuple[SemsCloudSensorEntityDescription, ...] = (
    SemsCloudSensorEntityDescription(
        key="cloud_sync",
        translation_key="cloud_sync",
        device_class=SensorDeviceClass.ENUM,
        options=[str(state) for state in SyncState],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda sync: str(sync.state),
    ),
    SemsCloudSensorEntityDescription(
        key="cloud_queued",
        translation_key="cloud_queued",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda sync: sync.stats.queued,
    ),
    SemsCloudSensorEntityDescription(
        key="cloud_sent",
        translation_key="cloud_sent",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda sync: sync.stats.sent,
    ),
    SemsCloudSensorEntityDescription(
        key="cloud_dropped",
        translation_key="cloud_dropped",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda sync: sync.stats.dropped,
    ),
    SemsCloudSensorEntityDescription(
        key="cloud_last_sync",
        translation_key="cloud_last_sync",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda sync: sync.stats.last_sent_at,
    ),
    *(_sent_description(category) for category in Category),
)


class SemsCloudSensor(SemsBaseEntity, SensorEntity):
    """One figure of the entry's cloud sync."""

    _attr_should_poll = False
    entity_description: SemsCloudSensorEntityDescription

    def __init__(
        self, entry: ConfigEntry, sync: CloudSync, description: SemsCloudSensorEntityDescription
    ) -> None:
        self.sync = sync
        self.entity_description = description
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = plant_device_info(entry)

    async def async_added_to_hass(self) -> None:
        """Follow the sync's changes."""
        self.async_on_remove(self.sync.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> StateType | datetime:
        """The figure now."""
        return self.entity_description.value_fn(self.sync)
