from tests.directory.fixtures import count_queries, make_employer, make_station, tree

__all__ = ["count_queries", "make_employer", "make_station", "tree"]
