"""Initial schema: audit trail + sessions work queue.

Revision ID: 0001_initial
Revises: 
Create Date: 2026-12-04

Written from `alembic revision --autogenerate` against the models, then tidied (plain
sa.DateTime so the migration never depends on model code). tests/storage checks that
migrations and models agree on SQLite and PostgreSQL.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001_initial'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('alert_source', sa.String(length=32), nullable=False),
    sa.Column('alert_kind', sa.String(length=255), nullable=False),
    sa.Column('alert_title', sa.Text(), nullable=False),
    sa.Column('alert_severity', sa.String(length=16), nullable=False),
    sa.Column('chain_name', sa.String(length=255), nullable=True),
    sa.Column('chain_snapshot', sa.JSON(), nullable=True),
    sa.Column('next_stage_index', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=255), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('last_occurrence_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('slack_channel', sa.String(length=64), nullable=True),
    sa.Column('slack_thread_ts', sa.String(length=32), nullable=True),
    sa.Column('slack_status_ts', sa.String(length=32), nullable=True),
    sa.Column('slack_user', sa.String(length=64), nullable=True),
    sa.Column('slack_team', sa.String(length=64), nullable=True),
    sa.Column('final_text', sa.Text(), nullable=True),
    sa.Column('executive_summary', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('thinking_tokens', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    op.create_index('ix_sessions_created_at', 'sessions', ['created_at'], unique=False)
    op.create_index('ix_sessions_fingerprint_status', 'sessions', ['fingerprint', 'status'], unique=False)
    op.create_index('ix_sessions_finished_at', 'sessions', ['finished_at'], unique=False)
    op.create_index('ix_sessions_queue', 'sessions', ['status', 'lease_expires_at'], unique=False)
    op.create_index('ix_sessions_slack_thread', 'sessions', ['slack_channel', 'slack_thread_ts'], unique=False)

    op.create_table('slack_events_seen',
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_slack_events_seen'))
    )
    op.create_index('ix_slack_events_seen_seen_at', 'slack_events_seen', ['seen_at'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=255), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('annotations', sa.JSON(), nullable=False),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('runbook_url', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('slack_channel', sa.String(length=64), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('slack_user', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_alerts_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    op.create_index('ix_alerts_fingerprint', 'alerts', ['fingerprint'], unique=False)
    op.create_index('ix_alerts_received_at', 'alerts', ['received_at'], unique=False)
    op.create_index('ix_alerts_session_id', 'alerts', ['session_id'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('user', sa.String(length=64), nullable=True),
    sa.Column('value', sa.String(length=8), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_feedback_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    op.create_index('ix_feedback_session_id', 'feedback', ['session_id'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_by', sa.String(length=64), nullable=True),
    sa.Column('slack_channel', sa.String(length=64), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_followups_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    op.create_index('ix_followups_session_id', 'followups', ['session_id'], unique=False)

    op.create_table('session_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('stage_id', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_events_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_events'))
    )
    op.create_index('ix_session_events_session_id', 'session_events', ['session_id', 'at'], unique=False)

    op.create_table('slack_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('thread_ts', sa.String(length=32), nullable=True),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_slack_messages_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_messages'))
    )
    op.create_index('ix_slack_messages_session_id', 'slack_messages', ['session_id'], unique=False)
    op.create_index('uq_slack_messages_channel_ts', 'slack_messages', ['channel', 'ts'], unique=True)

    op.create_table('stage_executions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('agents', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('full_text', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_stage_executions_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_executions'))
    )
    op.create_index('ix_stage_executions_session_id', 'stage_executions', ['session_id', 'index'], unique=False)

    op.create_table('llm_interactions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('stage_id', sa.String(length=64), nullable=True),
    sa.Column('followup_id', sa.String(length=64), nullable=True),
    sa.Column('agent', sa.String(length=255), nullable=True),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=255), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('iteration', sa.Integer(), nullable=True),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('response_text', sa.Text(), nullable=False),
    sa.Column('thinking_text', sa.Text(), nullable=False),
    sa.Column('function_calls', sa.JSON(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('thinking_tokens', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('finish_reason', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_llm_interactions_followup_id_followups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_llm_interactions_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stage_executions.id'], name=op.f('fk_llm_interactions_stage_id_stage_executions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_llm_interactions'))
    )
    op.create_index('ix_llm_interactions_session_id', 'llm_interactions', ['session_id', 'created_at'], unique=False)

    op.create_table('tool_calls',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('stage_id', sa.String(length=64), nullable=True),
    sa.Column('followup_id', sa.String(length=64), nullable=True),
    sa.Column('agent', sa.String(length=255), nullable=True),
    sa.Column('server', sa.String(length=255), nullable=False),
    sa.Column('tool', sa.String(length=255), nullable=False),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('result_for_model', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('denied', sa.Boolean(), nullable=False),
    sa.Column('summarized', sa.Boolean(), nullable=False),
    sa.Column('original_tokens', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_tool_calls_followup_id_followups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_tool_calls_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stage_executions.id'], name=op.f('fk_tool_calls_stage_id_stage_executions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tool_calls'))
    )
    op.create_index('ix_tool_calls_session_id', 'tool_calls', ['session_id', 'created_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_tool_calls_session_id', table_name='tool_calls')

    op.drop_table('tool_calls')
    op.drop_index('ix_llm_interactions_session_id', table_name='llm_interactions')

    op.drop_table('llm_interactions')
    op.drop_index('ix_stage_executions_session_id', table_name='stage_executions')

    op.drop_table('stage_executions')
    op.drop_index('uq_slack_messages_channel_ts', table_name='slack_messages')
    op.drop_index('ix_slack_messages_session_id', table_name='slack_messages')

    op.drop_table('slack_messages')
    op.drop_index('ix_session_events_session_id', table_name='session_events')

    op.drop_table('session_events')
    op.drop_index('ix_followups_session_id', table_name='followups')

    op.drop_table('followups')
    op.drop_index('ix_feedback_session_id', table_name='feedback')

    op.drop_table('feedback')
    op.drop_index('ix_alerts_session_id', table_name='alerts')
    op.drop_index('ix_alerts_received_at', table_name='alerts')
    op.drop_index('ix_alerts_fingerprint', table_name='alerts')

    op.drop_table('alerts')
    op.drop_index('ix_slack_events_seen_seen_at', table_name='slack_events_seen')

    op.drop_table('slack_events_seen')
    op.drop_index('ix_sessions_slack_thread', table_name='sessions')
    op.drop_index('ix_sessions_queue', table_name='sessions')
    op.drop_index('ix_sessions_finished_at', table_name='sessions')
    op.drop_index('ix_sessions_fingerprint_status', table_name='sessions')
    op.drop_index('ix_sessions_created_at', table_name='sessions')

    op.drop_table('sessions')
