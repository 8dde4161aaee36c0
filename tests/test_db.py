"""Prepared reads (:class:`core.db.PreparedQuery`) on both databases."""
import pytest
from sqlalchemy import bindparam, select

from core.db import Database
from core.models import User, UserConnector


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.upgrade()
    with database.session_scope() as session:
        alice, bob = User(org_id="o1", external_id="alice"), User(org_id="o2", external_id="bob")
        session.add_all([alice, bob])
        session.flush()
        session.add_all([UserConnector(user_id=alice.id, connector_code="gmail", status="active",
                                       account_label="alice@example.com"),
                         UserConnector(user_id=alice.id, connector_code="slack", status="error"),
                         UserConnector(user_id=bob.id, connector_code="gmail", status="active")])
    yield database
    database.engine.dispose()


LINKS = select(UserConnector.connector_code, UserConnector.status, UserConnector.account_label).where(
    UserConnector.user_id == bindparam("user_id")).order_by(UserConnector.connector_code)
BY_ORG = select(User.external_id).where(User.org_id == bindparam("org"), User.id > bindparam("after"))


def test_rows_are_those_core_returns(db):
    with db.engine.connect() as connection:
        alice = connection.execute(select(User.id).where(User.external_id == "alice")).scalar_one()
        expected = [tuple(row) for row in connection.execute(LINKS, {"user_id": alice})]
    assert db.prepared(LINKS).rows(user_id=alice) == expected == [
        ("gmail", "active", "alice@example.com"), ("slack", "error", None)]
    assert db.prepared(BY_ORG).rows(after=0, org="o2") == [("bob",)]  # named, in any order
    assert db.prepared(LINKS).rows(user_id=-1) == []


def test_compiled_once_and_connections_go_back_to_the_pool(db):
    query = db.prepared(LINKS)
    assert db.prepared(LINKS) is query
    for user_id in range(50):
        query.rows(user_id=user_id)
    assert db.engine.pool.checkedout() == 0


@pytest.mark.parametrize("params", [{"org": "o1"}, {"org": "o1", "after": 0, "other": 1}])
def test_parameters_must_match(db, params):
    with pytest.raises(TypeError, match=r"\['after', 'org'\]"):
        db.prepared(BY_ORG).rows(**params)
    assert db.engine.pool.checkedout() == 0


def test_expanding_parameters_are_refused(db):
    with pytest.raises(ValueError, match="plain bound parameters"):
        db.prepared(select(User.id).where(User.org_id.in_(["o1", "o2"])))
