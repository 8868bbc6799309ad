"""Provider adapters: one sub-package per vendor, loaded lazily by ``adapters.registry``."""
