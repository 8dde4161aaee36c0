"""Reads without an ORM session (:meth:`core.db.Database.rows`) on both databases."""
import logging

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
    assert [tuple(row) for row in db.rows(LINKS, {"user_id": alice})] == expected == [
        ("gmail", "active", "alice@example.com"), ("slack", "error", None)]
    assert db.rows(BY_ORG, {"after": 0, "org": "o2"})[0].external_id == "bob"  # named columns
    assert db.rows(LINKS, {"user_id": -1}) == []
    assert db.rows(select(User.id).where(User.org_id.in_(["o1", "o2"]))) != []  # expanding parameters too


def test_compiled_once_and_connections_go_back_to_the_pool(db, caplog):
    db.rows(LINKS, {"user_id": 1})
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    for user_id in range(5):
        db.rows(LINKS, {"user_id": user_id})
    # SQLAlchemy's log says whether the statement was compiled ("generated in") or reused.
    said = [record.getMessage() for record in caplog.records if "[" in record.getMessage()]
    assert len(said) == 5 and all("[cached since" in line for line in said), said
    assert db.engine.pool.checkedout() == 0


def test_a_missing_parameter_is_an_error_and_the_connection_goes_back(db):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="after"):
        db.rows(BY_ORG, {"org": "o1"})
    assert db.engine.pool.checkedout() == 0
