"""Answer memory: approved answers with a full-text index, paragraphs by verdict key,
the codes of answered cases

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

`approved_answers` keeps, per approval, the case's subject, the asker's text
and the answer paragraphs approved; `remembered_paragraphs` the paragraphs
that answered each verdict key with the verdict, data and rules they rested
on; `answer_codes` the case's codes for search by code (consultant/memory/).

The full-text index depends on the database. PostgreSQL: a generated
tsvector column (English configuration) with a GIN index. SQLite: an FTS5
table over `approved_answers` (external content: it keeps the index, not a
second copy of the text; porter stemming as PostgreSQL's English stems),
kept in step by triggers, so a row deleted by the retention purge leaves the
index at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consultant.db.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SEARCH = (
    "ALTER TABLE approved_answers ADD COLUMN search tsvector GENERATED ALWAYS AS "
    "(to_tsvector('english', subject || ' ' || question || ' ' || answer)) STORED"
)
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE answer_search USING fts5(subject, question, answer, "
    "content='approved_answers', content_rowid='id', tokenize='porter unicode61')"
)
_ADD = (
    "INSERT INTO answer_search(rowid, subject, question, answer) "
    "VALUES (new.id, new.subject, new.question, new.answer);"
)
_REMOVE = (
    "INSERT INTO answer_search(answer_search, rowid, subject, question, answer) "
    "VALUES ('delete', old.id, old.subject, old.question, old.answer);"
)
SQLITE_TRIGGERS = {
    "approved_answers_search_insert": f"AFTER INSERT ON approved_answers BEGIN {_ADD} END",
    "approved_answers_search_delete": f"AFTER DELETE ON approved_answers BEGIN {_REMOVE} END",
    "approved_answers_search_update": (
        f"AFTER UPDATE OF subject, question, answer ON approved_answers BEGIN {_REMOVE} {_ADD} END"
    ),
}


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_SEARCH)
        op.execute("CREATE INDEX ix_approved_answers_search ON approved_answers USING gin (search)")
    else:
        op.execute(SQLITE_SEARCH)
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE answer_search")
    op.drop_table("answer_codes")
    op.drop_table("remembered_paragraphs")
    op.drop_table("approved_answers")


def _create_tables() -> None:
    op.create_table(
        "approved_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(length=320), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_approved_answers_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_approved_answers_draft_id_drafts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approved_answers")),
    )  # fmt: skip
    op.create_index("ix_approved_answers_case_id", "approved_answers", ["case_id"])
    op.create_index("ix_approved_answers_approved_at", "approved_answers", ["approved_at", "id"])
    _create_paragraphs()
    op.create_table(
        "answer_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["approved_answers.id"],
            name=op.f("fk_answer_codes_answer_id_approved_answers"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_codes")),
    )  # fmt: skip
    op.create_index("ix_answer_codes_code_answer_id", "answer_codes", ["code", "answer_id"])
    op.create_index("ix_answer_codes_answer_id", "answer_codes", ["answer_id"])


def _create_paragraphs() -> None:
    op.create_table(
        "remembered_paragraphs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(length=320), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["approved_answers.id"],
            name=op.f("fk_remembered_paragraphs_answer_id_approved_answers"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_remembered_paragraphs_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remembered_paragraphs")),
    )  # fmt: skip
    op.create_index("ix_remembered_paragraphs_key_id", "remembered_paragraphs", ["key", "id"])
