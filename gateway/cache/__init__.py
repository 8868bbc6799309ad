"""The response cache: content-addressed answers kept per route (``cache: {ttl_s: ...}``).

``settings.py`` says where (in memory or Redis), ``keys.py`` how a request is addressed,
``stores.py`` the two stores, ``response.py`` how a request is served through it.
"""

from gateway.cache.keys import cache_key
from gateway.cache.response import ResponseCache
from gateway.cache.settings import CacheSettings
from gateway.cache.stores import CacheStore, MemoryCache, RedisCache, make_store

__all__ = ["CacheSettings", "CacheStore", "MemoryCache", "RedisCache", "ResponseCache", "cache_key", "make_store"]
