-- A ban that holds on better-auth-rs 0.10 (proposed for idp; NOT part of the port).
--
-- The port never reads users.banned / users.ban_expires (PORT.md §6), so a banned user with a password
-- signs in again at once. Every sign-in path (email/username + password, 2FA second step, OAuth,
-- passkey, impersonation, sign-up) ends in DatabaseAdapter::create_session, whose INSERT is
-- crates/core/src/adapters/database.rs:529-563 at 0.10.x. This trigger makes that INSERT fail for a
-- user whose ban is in force; the port then answers 500 "Database error" (crates/core/src/error.rs:96)
-- and issues no session. A ban whose ban_expires has passed no longer blocks (the port itself never
-- clears it). Idempotent: safe to apply again.
CREATE OR REPLACE FUNCTION idp_refuse_session_for_banned_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM "users" u
        WHERE u."id" = NEW."user_id"
          AND u."banned"
          AND (u."ban_expires" IS NULL OR u."ban_expires" > NOW())
    ) THEN
        RAISE EXCEPTION 'account is banned' USING ERRCODE = 'P0001', HINT = 'idp ban guard';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS idp_ban_guard ON "sessions";
CREATE TRIGGER idp_ban_guard BEFORE INSERT ON "sessions"
    FOR EACH ROW EXECUTE FUNCTION idp_refuse_session_for_banned_user();
