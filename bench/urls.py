"""The benchmark's URL configuration: the product's URLs plus the baseline view.

Only `bench.settings` mounts it; the product's `relapp.urls` never does.
"""

from django.urls import path

from bench.views import baseline
from relapp.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/baseline/", baseline, name="bench_baseline"),
    *product_urlpatterns,
]
