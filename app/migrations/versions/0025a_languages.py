"""languages: on clients, client phones, staff, teams and contacts; numbers' remembered languages

Revision ID: 0025a
Revises: 0026a
Create Date: 2026-12-03 08:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0025a"
down_revision: str | None = "0026a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The Spanish priority words every existing team starts with, as a new one
# does (written out: a migration must not change when the model's defaults do).
SPANISH_PRIORITY_WORDS = json.dumps(
    {
        "es": [
            "suicidio",
            "suicidarme",
            "suicidarse",
            "me quiero morir",
            "quiero morir",
            "quiero morirme",
            "morirme",
            "me voy a matar",
            "me mato",
            "quiero matarme",
            "matarme",
            "no quiero vivir",
            "no quiero seguir viviendo",
            "acabar con mi vida",
            "quitarme la vida",
            "hacerme daño",
            "hacerme dano",
            "lastimarme",
            "cortarme",
            "sobredosis",
            "pastillas",
            "pistola",
            "no puedo más",
            "no puedo mas",
            "no aguanto más",
            "no aguanto mas",
            "no tengo razón para vivir",
            "no tengo razon para vivir",
        ]
    }
)


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("default_language", string(length=16), nullable=False, server_default="en")
        )
        batch_op.add_column(
            sa.Column("languages", sa.JSON(), nullable=False, server_default=sa.text("'[\"en\"]'"))
        )
        batch_op.add_column(
            sa.Column("custom_texts", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(
            sa.Column(
                "priority_words_by_language",
                sa.JSON(),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "page_speakers_first", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.get_bind().execute(
        sa.text("UPDATE team SET priority_words_by_language = :words"),
        {"words": SPANISH_PRIORITY_WORDS},
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", string(length=16), nullable=False, server_default="en")
        )
        batch_op.add_column(
            sa.Column(
                "languages_spoken",
                sa.JSON(),
                nullable=False,
                server_default=sa.text("'[\"en\"]'"),
            )
        )
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", string(length=16), nullable=True))
    with op.batch_alter_table("client_phone", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", string(length=16), nullable=True))
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", string(length=16), nullable=False, server_default="en")
        )
    op.create_table(
        "number_language",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("number", string(length=20), nullable=False),
        sa.Column("language", string(length=16), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_number_language_team_id_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_language")),
        sa.UniqueConstraint("team_id", "number", name=op.f("uq_number_language_team_id")),
    )


def downgrade() -> None:
    op.drop_table("number_language")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("client_phone", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("languages_spoken")
        batch_op.drop_column("language")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("page_speakers_first")
        batch_op.drop_column("priority_words_by_language")
        batch_op.drop_column("custom_texts")
        batch_op.drop_column("languages")
        batch_op.drop_column("default_language")
