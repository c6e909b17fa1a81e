"""pytest plugin for `make mutate` only (pyproject.toml, [tool.mutmut] pytest_add_cli_args).

mutmut stops a mutant's test run at the first failure. pytest-django orders
the tests that use the database first, so a mutant that the pure rule tables
kill in a millisecond would still wait for the database and every service test
before them. This puts the tests without a database first, keeping
pytest-django's order among the others.
"""

import pytest

DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def _uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    return not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_uses_database)
