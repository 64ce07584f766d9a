from tests.stats.conftest import file_application, tree  # noqa: F401  # shared fixtures: the union tree, applications
