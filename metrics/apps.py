from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "How releasing goes: DORA figures and approval times"

    def ready(self) -> None:
        from meetings.selectors import feed_register_cache
        from metrics.selectors import cached_for_user

        # The calendar feed's body is cached under the same data version (its
        # tables are watched too: metrics/migrations/0002_feed_tables).
        feed_register_cache(cached_for_user)
