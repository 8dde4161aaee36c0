"""Key rotation: re-encrypt every stored secret under the newest key, batch by batch."""
from __future__ import annotations

import logging

from sqlalchemy import select

from core.crypto import DecryptionError, associated_data
from core.models import OAuthState, UserConnectorCredential

log = logging.getLogger(__name__)

#: (model, its secret columns, how to name its connector for the associated data)
SECRET_TABLES = (
    (UserConnectorCredential, ("access_token", "refresh_token", "extra_json")),
    (OAuthState, ("code_verifier",)),
)


def rotate_all(db, cipher, *, batch_size: int = 200, progress=None) -> dict:
    """Re-encrypt every secret not made with the newest key.

    Returns ``{"rows", "rotated", "current", "failed"}``; ``progress(done, total)`` is called
    after each batch. A value that cannot be decrypted is counted and left untouched.
    """
    counts = {"rows": 0, "rotated": 0, "current": 0, "failed": 0}
    for model, columns in SECRET_TABLES:
        with db.session_scope() as session:
            total = session.query(model).count()
        last_id = 0
        while True:
            with db.session_scope() as session:
                rows = session.scalars(select(model).where(model.id > last_id).order_by(model.id)
                                       .limit(batch_size)).all()
                for row in rows:
                    for column in columns:
                        _rotate_value(cipher, row, column, counts)
                counts["rows"] += len(rows)
            if not rows:
                break
            last_id = rows[-1].id
            if progress:
                progress(counts["rows"], total)
    return counts


def _rotate_value(cipher, row, column, counts):
    value = getattr(row, column)
    if value is None:
        return
    aad = associated_data(row.__tablename__, column, row.user_id, row.connector_code)
    try:
        if not cipher.needs_rotation(value):
            counts["current"] += 1
            return
        setattr(row, column, cipher.encrypt(cipher.decrypt(value, aad), aad))
        counts["rotated"] += 1
    except DecryptionError:
        counts["failed"] += 1
        log.error("Cannot decrypt %s.%s of row %s; left as is", row.__tablename__, column, row.id)
