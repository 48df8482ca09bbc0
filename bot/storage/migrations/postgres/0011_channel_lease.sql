-- PostgreSQL mirror of ../0011_channel_lease.sql (same number, same resulting tables and columns).
-- A WeChat message's claim is a lease, not ownership for good: a worker killed after claiming
-- a message (a crash, a deploy) would otherwise leave it unhandled while WeChat's retries are
-- answered 'success'. A retry that finds a 'running' claim older than the lease takes it over
-- and runs the handler; a live claim is answered when its worker finishes, as before.
ALTER TABLE wechat_inbound ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;  -- unix seconds
UPDATE wechat_inbound SET claimed_at = created_at;
