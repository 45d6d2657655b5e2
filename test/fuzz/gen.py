#!/usr/bin/env python3
"""test/fuzz/gen.py: write the psql scripts of the inbox fuzz test.

    python3 gen.py SEED CALLS SESSIONS OUTDIR

Writes OUTDIR/session.<k>.sql for k = 1..SESSIONS, CALLS statements in all.
Standard library only (plain Debian 12 python3).  Deterministic for a seed.

Every statement is preceded by a marker line that psql prints on stderr,

    \\warn @@ <call number> <class> <name>

so that fuzz_test.sh can give each error to the call that raised it.  <class>
says which SQLSTATEs are allowed (see fuzz_test.sh):

    api      an API function called with values valid for their SQL types
    apilit   an API call whose literal is itself invalid for its type on purpose
             (malformed json text, a timestamp past year 294276)
    write    a direct INSERT / UPDATE / DELETE on an inbox table
    guc      SET of an inbox.* setting (inbox.actor_kind, inbox.actor_agent, ...)
    read     a plain SELECT on an inbox table / function (must never fail)
"""
import os
import random
import sys

seed, calls, sessions, outdir = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
R = random.Random(seed)

BIG = 9223372036854775807
SMALL = -9223372036854775808
# ids: the setup script makes 2 spaces, 6 agents, 10 channels, ~40 contacts, some
# views; the fuzz adds more as it goes.  Mostly pick ids that may exist.
MAX_ID = 120


def q(s):
    """a SQL string literal (standard_conforming_strings = on)"""
    return "'" + s.replace("'", "''") + "'"


def pick(*choices):
    return R.choice(choices)


def weighted(pairs):
    tot = sum(w for w, _ in pairs)
    x = R.random() * tot
    for w, v in pairs:
        x -= w
        if x <= 0:
            return v() if callable(v) else v
    v = pairs[-1][1]
    return v() if callable(v) else v


# ---------------------------------------------------------------- values

def bigint():
    return weighted([
        (70, lambda: str(R.randint(1, 12))),
        (15, lambda: str(R.randint(1, MAX_ID))),
        (3, "NULL"), (2, "0"), (2, "-1"), (2, str(BIG)), (2, "(%d)" % SMALL),
        (2, lambda: str(R.randint(1000, BIG))),
        (2, lambda: "(%d)" % R.randint(SMALL, -2)),
    ])


def agent_id():
    return weighted([(80, lambda: str(R.randint(1, 7))), (20, bigint)])


def space_id():
    return weighted([(85, lambda: str(R.randint(1, 2))), (15, bigint)])


def channel_id():
    return weighted([(80, lambda: str(R.randint(1, 11))), (20, bigint)])


def contact_id():
    return weighted([(80, lambda: str(R.randint(1, 50))), (20, bigint)])


def space_of(table, ident):
    """the space argument of a call about row ident of table (2.0: every call
    names the space first): mostly the row's own space, read by the call
    itself, else any space id (another space's row is P0002)"""
    return weighted([(65, "(SELECT space_id FROM inbox.%s WHERE id = %s)" % (table, ident)), (35, space_id)])


def message_id():
    return weighted([(80, lambda: str(R.randint(1, 400))), (20, bigint)])


def int4():
    return pick("0", "-1", "1", "2", "50", "1000", "2147483647", "(-2147483648)", "NULL",
                str(R.randint(1, 100)), str(R.randint(-100000, 100000)))


UNICODE = [
    "Maria García", "Ægir Ørsted", "Ｆｕｌｌｗｉｄｔｈ",
    "مرحبا بالعالم",                       # Arabic, RTL
    "שלום עולם",                           # Hebrew, RTL
    "\u202egnp.exe\u202c",                 # RTL override
    "\u200b\u200c\u200d\u2060\ufeff",      # zero-width, BOM
    "👍🏽🎉💩", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈",
    "e\u0301\u0301\u0301\u0301",           # combining marks
    "\U0010ffff\ufffe\uffff",               # noncharacters (valid UTF-8)
    "\U0001d54f\U0001d553",                # astral plane letters
    "ᚠᛇᚻ᛫ᛒᛦᚦ", "日本語テキスト", "한국어", "ไทย", "Ελληνικά",
    "İıŞş", "ß→SS", "\u00a0nbsp\u00a0", "tab\tnew\nline\rcr",
    "\x7f\x01\x1b[31mred", "ﷺ", "𒐫", "Z̤̺̦͈̦͍̮̯a̷l̶g̵o",
]
SQLISH = [
    "'", "''", "\"", "';", "'; DROP TABLE inbox.message; --", "\"; DROP TABLE inbox.contact; --",
    "$$", "$$; DROP SCHEMA inbox CASCADE; $$", "$tag$", "\\", "\\\\", "\\x00", "\\u0000", "\\'",
    "%s%s%s%n%n%x%p", "%999999999s", "%.*s", "%1$s", "{", "}", "{}", "[]", "null", "NULL",
    "1; SELECT pg_sleep(10)", "1 OR 1=1", "' OR '1'='1", "*/", "/*", "--", "\\set x", ":x", ":'x'",
    "E'\\n'", "U&'\\0000'", "<script>alert(1)</script>", "../../etc/passwd", "%", "_", "%_%",
    "\\.", "COPY", "\\gexec", "$1", "?", "' || pg_read_file('/etc/passwd') || '",
]
ENUMISH = [
    "user", "USER", " user", "user ", "automation", "bot", "broadcast", "api", "contact", "channel",
    "system", "ai", "incoming", "outgoing", "pending", "sent", "delivered", "read", "failed",
    "received", "all", "mine", "unassigned", "open", "closed", "me", "none",
]


def text_small():
    return weighted([
        (20, lambda: q("t%d" % R.randint(0, 99))),
        (15, lambda: q(R.choice(UNICODE))),
        (15, lambda: q(R.choice(SQLISH))),
        (8, lambda: q(R.choice(ENUMISH))),
        (8, "NULL"), (8, "''"), (3, "' '"),
        (5, lambda: q("".join(chr(R.choice([R.randint(0x20, 0x7e), R.randint(0xa0, 0xd7ff),
                                             R.randint(0xe000, 0xfffd), R.randint(0x10000, 0x10ffff)]))
                              for _ in range(R.randint(1, 40))))),
        (3, lambda: q("x" * R.randint(100, 3000))),
        (2, lambda: "repeat(%s, %d)" % (q(R.choice(UNICODE)), R.randint(100, 5000))),
    ])


def text_huge():
    """1 MB or more: mostly built by the server (cheap to send), sometimes a literal"""
    return weighted([
        (40, "repeat('x', 1048576)"),
        (15, "repeat('👍🏽', 262144)"),
        (15, "repeat(md5(random()::text), 32768)"),
        (10, "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 40000) g)"),
        (5, "repeat('''; DROP TABLE inbox.message; --', 40000)"),
        (3, lambda: q("".join(R.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(1 << 20)))),
    ])


def text():
    return text_huge() if R.random() < 0.01 else text_small()


def enum(valid):
    return weighted([(70, lambda: q(R.choice(valid))), (30, text_small)])


def ts():
    return weighted([
        (35, "now()"),
        (15, lambda: "now() - interval '%d seconds'" % R.randint(0, 10 ** 7)),
        (10, lambda: "now() + interval '%d seconds'" % R.randint(1, 10 ** 7)),
        (6, "NULL"), (6, "'infinity'"), (6, "'-infinity'"),
        (5, "'294276-12-31 23:59:59.999999+00'"), (5, "'4713-01-01 00:00:00+00 BC'"),
        (3, "'1970-01-01 00:00:00+00'"), (3, "'2000-01-01 00:00:00+00'"),
        (3, "now() + interval '1 microsecond'"), (3, "clock_timestamp() + interval '2 seconds'"),
    ])


JKEYS = ["first_name", "last_name", "email", "phone", "template", "tag", "conversation", "assignee",
         "channels", "tags", "unread", "custom", "plan", "until", "merged", "channel", "op", "contact", ""]


def jscalar():
    return pick('1', '-1', '0', '1e308', '-1e-308', '123456789012345678901234567890', 'true', 'false',
                'null', '""', '"x"', '"me"', '"none"', '"open"', '"human_agent"', '"\\ud83d\\udc4d"',
                '"\\u202e"', '"' + R.choice(UNICODE).replace('\\', '\\\\').replace('"', '\\"')
                .replace('\n', '\\n').replace('\t', '\\t').replace('\r', '\\r').replace('\x7f', '').replace('\x01', '').replace('\x1b', '') + '"',
                '[]', '{}', '[1,2,3]', '[null]', '["vip"]', '[%d]' % R.randint(1, 12))


def jobject(depth=0):
    n = R.randint(0, 4)
    parts = []
    for _ in range(n):
        k = R.choice(JKEYS)
        if depth < 3 and R.random() < 0.25:
            v = jobject(depth + 1) if R.random() < 0.6 else "[" + ",".join(jscalar() for _ in range(R.randint(0, 3))) + "]"
        else:
            v = jscalar()
        parts.append('"%s": %s' % (k, v))
    return "{" + ", ".join(parts) + "}"


def jsonb():
    return weighted([
        (8, "NULL"),
        (25, lambda: q(jobject()) + "::jsonb"),
        (10, lambda: q(jscalar()) + "::jsonb"),
        (5, lambda: q("[" + ",".join(jobject() for _ in range(R.randint(0, 3))) + "]") + "::jsonb"),
        (5, lambda: q('{"a":' * 500 + '1' + '}' * 500) + "::jsonb"),          # nested 500 deep
        (5, lambda: q('[' * 1000 + ']' * 1000) + "::jsonb"),
        (3, "(SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 50000) g)"),     # huge object
        (2, "jsonb_build_object('first_name', repeat('x', 1048576))"),
        (2, "jsonb_build_object('template', repeat('t', 1048576))"),
        (2, "to_jsonb(repeat('x', 1048576))"),
        (8, lambda: "jsonb_build_object(%s, %s)" % (q(R.choice(JKEYS)), text_small())),
        (8, lambda: "jsonb_build_object('first_name', %s, 'last_name', %s, 'email', %s, 'phone', %s)"
         % (text_small(), text_small(), text_small(), text_small())),
        (4, lambda: "jsonb_build_object('tag', %s)" % enum(["human_agent", "account_update", "x"])),
        (4, lambda: "jsonb_build_object('template', %s)" % text_small()),
    ])


# ---------------------------------------------------------------- API calls

CHANNEL_KINDS = ["whatsapp_cloud", "whatsapp_360dialog", "facebook", "instagram", "telegram", "viber",
                 "line", "wechat", "email", "sms", "webchat", "custom"]
SENDER_KINDS = ["user", "automation", "ai", "away_message", "greeting_message", "dialogflow",
                "facebook_inbox", "whatsapp_echo", "message_tag", "broadcast", "api", "contact"]
ACTOR_KINDS = ["user", "automation", "bot", "broadcast", "api", "contact", "channel", "system"]
STATUSES = ["sent", "delivered", "read", "failed", "pending", "received"]
EVENT_KINDS = ["assigned", "unassigned", "conversation_opened", "conversation_closed", "contact_snoozed",
               "contact_unsnoozed", "broadcast_sent", "survey_started", "survey_canceled", "survey_completed",
               "survey_failed", "bot_status_on", "bot_status_off", "channel_event", "page_change",
               "contact_merged", "contact_unmerged", "channel_added"]
VIEWS = ["all", "mine", "unassigned"]


def contact_ref():
    return weighted([(70, lambda: q("ref-%d" % R.randint(0, 40))), (30, text)])


def external_id():
    return weighted([(40, "NULL"), (40, lambda: q("ext-%d" % R.randint(0, 300))), (20, text)])


def cursor():
    return weighted([
        (30, "NULL"), (30, text_small),
        (20, lambda: q(pick("2024-01-01 00:00:00+00,%d" % R.randint(-5, 500), "%d" % R.randint(-5, 500),
                            "infinity,1", "-infinity,-1", "294276-12-31,9223372036854775807", ",", "|", ":",
                            "1|2|3", "m:1", "e:1", "message,1,2024", "AAAA", "=", "0,0,0,0,0,0,0,0"))),
        (10, lambda: "(SELECT cursor FROM inbox.contact_list(1, 1) OFFSET %d LIMIT 1)" % R.randint(0, 5)),
        (10, lambda: (lambda c: "(SELECT cursor FROM inbox.history((SELECT space_id FROM inbox.contact WHERE id = %d), %d) LIMIT 1)"
                      % (c, c))(R.randint(1, 50))),
    ])


def viewname():
    return weighted([(50, lambda: q(R.choice(VIEWS))), (20, lambda: q(str(R.randint(1, 12)))),
                     (30, lambda: q(pick("-1", "0", "99999999999999999999", "1e3", "1.5", "0x10", " 1", "1 ",
                                         str(BIG), str(SMALL), "mine; DROP", "ALL", "")) if R.random() < 0.6 else text_small())])


def args(*pairs):
    """positional required + some named optional arguments, randomly present"""
    out = []
    for name, gen, required in pairs:
        if required:
            out.append(gen())
        elif R.random() < 0.5:
            out.append("%s => %s" % (name, gen()))
    return ", ".join(out)


def api_call():
    f = weighted([
        (2, "create_space"), (2, "create_agent"), (3, "create_channel"), (22, "receive_message"),
        (14, "send_message"), (8, "set_message_status"), (6, "assign"), (5, "open_conversation"),
        (5, "close_conversation"), (4, "snooze"), (3, "unsnooze"), (4, "mark_read"), (6, "record_event"),
        (2, "merge_contacts"), (2, "unmerge_contacts"), (3, "view_counts"), (5, "contact_list"),
        (4, "history"), (0.3, "check_integrity"), (1, "wake_due_snoozes"), (1, "next_snooze_due"),
        (4, "update_contact"), (2, "save_view"), (1, "delete_view"), (4, "add_comment"),
    ])
    A = lambda n, g: (n, g, True)            # noqa: E731  required
    O = lambda n, g: (n, g, False)           # noqa: E731  optional
    # the row a call is about, and its space argument before it
    contact, channel, message = contact_id(), channel_id(), message_id()
    S = lambda table, ident: A("space", lambda: space_of(table, ident))    # noqa: E731
    C = lambda name="contact": A(name, lambda: contact)                       # noqa: E731
    if f == "create_space":
        s = "SELECT inbox.create_space(%s)" % args(A("name", text))
    elif f == "create_agent":
        s = "SELECT inbox.create_agent(%s)" % args(A("space", space_id), A("name", text), O("email", text))
    elif f == "create_channel":
        s = "SELECT inbox.create_channel(%s)" % args(A("space", space_id), A("kind", lambda: enum(CHANNEL_KINDS)),
                                                     A("name", text))
    elif f == "receive_message":
        s = "SELECT inbox.receive_message(%s)" % args(
            S("channel", channel), A("channel", lambda: channel), A("contact_ref", contact_ref), A("body", text),
            O("external_id", external_id), O("reply_to", external_id), O("content", jsonb),
            O("at", ts), O("profile", jsonb))
    elif f == "send_message":
        s = "SELECT inbox.send_message(%s)" % args(
            S("contact", contact), C(), A("channel", channel_id), A("body", text), O("agent", agent_id),
            O("sender_kind", lambda: enum(SENDER_KINDS)), O("content", jsonb))
    elif f == "set_message_status":
        s = "SELECT inbox.set_message_status(%s)" % args(
            S("message", message), A("message", lambda: message), A("status", lambda: enum(STATUSES)), O("at", ts), O("error", text))
    elif f == "assign":
        s = "SELECT inbox.assign(%s)" % args(S("contact", contact), C(), A("assignee", agent_id),
                                             O("actor_kind", lambda: enum(ACTOR_KINDS)), O("actor_agent", agent_id))
    elif f in ("open_conversation", "close_conversation"):
        extra = [O("reference", text), O("source_url", text)] if f == "open_conversation" else \
            [O("category", text), O("summary", text)]
        s = "SELECT inbox.%s(%s)" % (f, args(S("contact", contact), C(), A("actor_kind", lambda: enum(ACTOR_KINDS)),
                                             O("actor_agent", agent_id), *extra))
    elif f == "snooze":
        s = "SELECT inbox.snooze(%s)" % args(S("contact", contact), C(), A("until", ts), A("agent", agent_id))
    elif f in ("unsnooze", "mark_read"):
        s = "SELECT inbox.%s(%s)" % (f, args(S("contact", contact), C(), A("agent", agent_id)))
    elif f == "record_event":
        s = "SELECT inbox.record_event(%s)" % args(
            S("contact", contact), C(), A("kind", lambda: enum(EVENT_KINDS)), A("actor_kind", lambda: enum(ACTOR_KINDS)),
            O("actor_agent", agent_id), O("reference", text), O("source_url", text), O("data", jsonb))
    elif f in ("merge_contacts", "unmerge_contacts"):
        s = "SELECT inbox.%s(%s)" % (f, args(S("contact", contact), C("keep"), A("merge" if f == "merge_contacts" else "merged", contact_id),
                                             O("actor_kind", lambda: enum(ACTOR_KINDS)), O("actor_agent", agent_id)))
    elif f == "view_counts":
        s = "SELECT count(*), sum(contacts), sum(unread_contacts) FROM inbox.view_counts(%s)" % args(
            A("space", space_id), A("agent", agent_id))
    elif f == "contact_list":
        s = "SELECT count(*), max(length(cursor)), max(length(name)) FROM inbox.contact_list(%s)" % args(
            A("space", space_id), A("agent", agent_id), O("view", viewname), O("search", text),
            O("cursor", cursor), O("page_size", int4))
    elif f == "history":
        s = "SELECT count(*), sum(length(body)), max(length(cursor)) FROM inbox.history(%s)" % args(
            S("contact", contact), C(), O("before", cursor), O("page_size", int4))
    elif f == "update_contact":
        s = "SELECT inbox.update_contact(%s)" % args(
            S("contact", contact), C(), A("agent", agent_id), O("first_name", text),
            O("last_name", text), O("email", text), O("phone", text), O("tags", tags), O("custom", jsonb))
    elif f == "save_view":
        s = "SELECT inbox.save_view(%s)" % args(
            A("space", space_id), A("agent", agent_id), A("name", text),
            A("filter", lambda: weighted([(60, view_filter), (40, jsonb)])), O("shared", bool_),
            O("view", lambda: weighted([(70, lambda: str(R.randint(1, 12))), (30, bigint)])))
    elif f == "delete_view":
        s = "SELECT inbox.delete_view(%s)" % args(
            A("space", space_id), A("agent", agent_id), A("view", lambda: weighted([(70, lambda: str(R.randint(1, 12))), (30, bigint)])))
    elif f == "add_comment":
        s = "SELECT inbox.add_comment(%s)" % args(
            S("contact", contact), C(), A("agent", agent_id), A("body", text),
            O("mentions", mentions))
    elif f == "check_integrity":
        s = "SELECT count(*) FROM inbox.check_integrity()"
    elif f == "wake_due_snoozes":
        s = "SELECT inbox.wake_due_snoozes(%s)" % (int4() if R.random() < 0.7 else "")
    else:
        s = "SELECT inbox.next_snooze_due()"
    return "api", f, s


def apilit_call():
    """an API call with a literal that is invalid for its type, on purpose"""
    bad = weighted([
        (30, lambda: q(pick('{', '{"a":}', '[1,', "{'a': 1}", 'nul', '{"a": 1}}', '"\\u0000"', '\\x00', ''))
         + "::jsonb"),
        (30, lambda: q(pick("294277-01-01", "4714-11-23 BC", "2024-13-01", "2024-02-30", "yesterday noon",
                            "epochx", "", "now+1")) + "::timestamptz"),
        (20, lambda: q(pick("9223372036854775808", "-9223372036854775809", "1e3", "abc", "", " ")) + "::bigint"),
        (20, lambda: q(pick("2147483648", "1.5", "x")) + "::int"),
    ])
    f = pick("receive_message", "snooze", "record_event", "contact_list", "history")
    if f == "receive_message":
        channel = channel_id()
        s = "SELECT inbox.receive_message(%s, %s, 'ref-1', 'b', %s => %s)" % (
            space_of("channel", channel), channel, "profile" if "jsonb" in bad else ("at" if "timestamptz" in bad else "content"),
            bad if "jsonb" in bad or "timestamptz" in bad else "NULL")
    elif f == "snooze":
        contact = contact_id()
        s = "SELECT inbox.snooze(%s, %s, %s, 1)" % (space_of("contact", contact), contact,
                                                  bad if "timestamptz" in bad else "now() + '1h'")
    elif f == "record_event":
        contact = bad if "bigint" in bad else contact_id()
        s = "SELECT inbox.record_event(%s, %s, 'page_change', 'contact', data => %s)" % (
            space_of("contact", contact), contact, bad if "jsonb" in bad else "NULL")
    elif f == "contact_list":
        s = "SELECT count(*) FROM inbox.contact_list(1, 1, page_size => %s)" % (bad if "int" in bad else "1")
    else:
        s = "SELECT count(*) FROM inbox.history(%s, %s)" % (space_id(), bad)
    return "apilit", f, s


# ---------------------------------------------------------------- direct writes

def tags():
    return weighted([(30, "'{}'"), (20, "'{vip}'"), (10, "NULL"), (10, lambda: "ARRAY[%s]" % ", ".join(text_small() for _ in range(R.randint(1, 4)))),
                     (5, "array_fill('x'::text, ARRAY[100000])"), (5, "'{{a,b},{c,d}}'"), (5, "ARRAY[NULL]::text[]")])


def bool_():
    return pick("true", "false", "NULL")


def mentions():
    return weighted([(30, "NULL"), (20, "'{}'"), (30, lambda: "ARRAY[%s]::bigint[]" % ", ".join(agent_id() for _ in range(R.randint(1, 4)))),
                     (5, "'{{1,2},{3,4}}'::bigint[]"), (5, "ARRAY[NULL]::bigint[]"), (5, "array_fill(1::bigint, ARRAY[10000])")])


COLS = {
    "contact": [("first_name", text), ("last_name", text), ("email", text), ("phone", text), ("custom", jsonb),
                ("tags", tags), ("assignee_id", agent_id), ("origin_channel_id", channel_id), ("bot_active", bool_),
                ("snoozed_until", ts), ("unread_count", int4), ("last_message_at", ts),
                ("last_message_direction", lambda: enum(["incoming", "outgoing"])), ("last_message_id", message_id),
                ("last_channel_id", channel_id), ("merged_into", contact_id), ("open_conversation_id", bigint),
                ("created_at", ts), ("space_id", space_id)],
    "conversation": [("contact_id", contact_id), ("opened_at", ts), ("opened_by_kind", lambda: enum(ACTOR_KINDS)),
                     ("opened_by_agent", agent_id), ("reference", text), ("source_url", text), ("closed_at", ts),
                     ("closed_by_kind", lambda: enum(ACTOR_KINDS)), ("closed_by_agent", agent_id), ("category", text),
                     ("summary", text), ("first_response_at", ts), ("space_id", space_id)],
    "message": [("contact_id", contact_id), ("conversation_id", bigint), ("channel_id", channel_id),
                ("direction", lambda: enum(["incoming", "outgoing"])), ("sender_kind", lambda: enum(SENDER_KINDS)),
                ("sender_agent_id", agent_id), ("body", text), ("content", jsonb), ("external_id", external_id),
                ("reply_to_external_id", external_id), ("reply_to_id", message_id),
                ("status", lambda: enum(STATUSES)), ("sent_at", ts), ("delivered_at", ts), ("read_at", ts),
                ("failed_at", ts), ("error", text), ("created_at", ts), ("space_id", space_id)],
    "event": [("contact_id", contact_id), ("conversation_id", bigint), ("kind", lambda: enum(EVENT_KINDS)),
              ("actor_kind", lambda: enum(ACTOR_KINDS)), ("actor_agent_id", agent_id), ("target_agent_id", agent_id),
              ("reference", text), ("source_url", text), ("data", jsonb), ("created_at", ts), ("space_id", space_id)],
    "contact_channel": [("contact_id", contact_id), ("channel_id", channel_id), ("external_id", contact_ref),
                        ("last_incoming_at", ts), ("space_id", space_id)],
    "view": [("owner_agent_id", agent_id), ("name", text), ("filter", lambda: weighted([(60, view_filter), (40, jsonb)])),
             ("space_id", space_id)],
    "comment": [("contact_id", contact_id), ("conversation_id", bigint), ("author_agent_id", agent_id), ("body", text),
                ("mentions", mentions), ("created_at", ts), ("space_id", space_id)],
}
REQUIRED = {
    "contact": ["space_id"],
    "conversation": ["space_id", "contact_id", "opened_by_kind"],
    "message": ["space_id", "contact_id", "channel_id", "direction", "sender_kind", "status"],
    "event": ["space_id", "contact_id", "kind", "actor_kind"],
    "contact_channel": ["space_id", "contact_id", "channel_id", "external_id"],
    "view": ["space_id", "name"],
    "comment": ["space_id", "contact_id", "author_agent_id", "body"],
}
KEYCOL = {"contact": "id", "conversation": "id", "message": "id", "event": "id", "view": "id",
          "contact_channel": "contact_id", "comment": "id"}


def view_filter():
    parts = []
    for _ in range(R.randint(0, 3)):
        k = R.choice(["conversation", "assignee", "channels", "tags", "unread", "custom", "status", ""])
        v = weighted([
            (50, lambda: {"conversation": pick('"open"', '"closed"', '"pending"', '1'),
                          "assignee": pick('"me"', '"none"', str(R.randint(1, 7)), '"everyone"', str(BIG), '-1', '1.5', 'null'),
                          "channels": pick('[1]', '[%d, %d]' % (R.randint(1, 11), R.randint(1, 11)), '1', '[]', '["1"]', '[99999]', '[null]'),
                          "tags": pick('["vip"]', '"vip"', '[1]', '[]', '[null]'),
                          "unread": pick('true', 'false', '"yes"', 'null'),
                          "custom": pick('{"plan": "gold"}', '{"plan": ["gold"]}', '{}', '[]', '{"": null}')}.get(k, '1')),
            (50, jscalar)])
        parts.append('"%s": %s' % (k, v))
    return q("{" + ", ".join(parts) + "}") + "::jsonb"


EXCLUDE = set(x.strip() for x in os.environ.get("INBOX_FUZZ_EXCLUDE", "").split(",") if x.strip())


def write_call():
    while True:
        cls, name, stmt = write_call1()
        if name not in EXCLUDE:
            return cls, name, stmt


def message_insert():
    """a direct INSERT of a message that may get through: its space, contact and
    channel taken from one identity (the first at or after a random contact id),
    incoming from the contact, or outgoing by an agent of the space (rules 2, 3
    and 5 by plain SQL) or by another sender kind; a few random optional columns
    (the columns all chosen at random almost never fit together)"""
    kind = weighted([(55, "incoming"), (25, "user"), (20, "other")])
    if kind == "incoming":
        values = ["'incoming'", "'contact'", "NULL", "'received'"]
    elif kind == "user":
        values = ["'outgoing'", "'user'", "(SELECT min(a.id) FROM inbox.agent a WHERE a.space_id = cc.space_id)", "'pending'"]
    else:
        values = ["'outgoing'", q(R.choice(["automation", "broadcast", "api", "ai", "away_message"])), "NULL", "'pending'"]
    names = ["direction", "sender_kind", "sender_agent_id", "status", "body"]
    values.append(text())
    for c, g in COLS["message"]:
        if c in ("content", "external_id", "reply_to_external_id", "created_at", "error") and \
                "message.%s" % c not in EXCLUDE and R.random() < 0.15:
            names.append(c)
            values.append(g())
    return ("INSERT INTO inbox.message (space_id, contact_id, channel_id, %s) SELECT cc.space_id, cc.contact_id, cc.channel_id, %s "
            "FROM inbox.contact_channel cc ORDER BY cc.contact_id >= %s DESC, cc.contact_id, cc.channel_id LIMIT 1"
            % (", ".join(names), ", ".join(values), contact_id()))


def write_call1():
    t = weighted([(20, "contact"), (15, "conversation"), (25, "message"), (15, "event"), (10, "contact_channel"),
                  (10, "view"), (5, "comment")])
    op = weighted([(45, "INSERT"), (45, "UPDATE"), (10, "DELETE")])
    if t == "message" and op == "INSERT" and R.random() < 0.5:
        return "write", "insert message", message_insert()
    cols = [(c, g) for c, g in COLS[t] if "%s.%s" % (t, c) not in EXCLUDE]
    if op == "INSERT":
        chosen = {c: g for c, g in cols if c in REQUIRED[t] or R.random() < 0.3}
        if R.random() < 0.1 and len(chosen) > 1:                  # leave out a required column now and then
            chosen.pop(R.choice(list(chosen)))
        names = list(chosen)
        if t == "contact_channel" and R.random() < 0.8:  # mostly a valid, new identity
            vals = []
            for c in names:
                vals.append({"external_id": lambda: q("new-%d-%d" % (R.randint(0, 10 ** 6), R.randint(0, 99)))}.get(c, chosen[c])())
        else:
            vals = [chosen[c]() for c in names]
        s = "INSERT INTO inbox.%s (%s) VALUES (%s)" % (t, ", ".join(names), ", ".join(vals))
    elif op == "UPDATE":
        sets = R.sample(cols, R.randint(1, 3))
        where = "%s = %s" % (KEYCOL[t], contact_id() if t == "contact_channel" else
                             (message_id() if t in ("message", "event") else contact_id()))
        s = "UPDATE inbox.%s SET %s WHERE %s" % (t, ", ".join("%s = %s" % (c, g()) for c, g in sets), where)
    else:
        # deletes are rarer and mostly of rows the rules do not depend on
        if t in ("contact", "conversation") and R.random() < 0.7:
            t = pick("view", "message", "contact_channel")
        where = "%s = %s" % (KEYCOL[t], message_id() if t in ("message", "event") else contact_id())
        s = "DELETE FROM inbox.%s WHERE %s" % (t, where)
    return "write", "%s %s" % (op.lower(), t), s


def guc_call():
    g = pick("inbox.actor_kind", "inbox.actor_agent", "inbox.notify")
    if g == "inbox.actor_kind":
        v = enum(ACTOR_KINDS)
    elif g == "inbox.actor_agent":
        v = pick("'1'", "'2'", "''", "'0'", "'-1'", "'abc'", "'%d'" % BIG, "'99999999999999999999'", "' 1'", "DEFAULT")
    else:
        v = pick("on", "off", "'maybe'", "DEFAULT")
    if v == "NULL":
        v = "DEFAULT"
    if v.startswith("repeat(") or v.startswith("(") or v.startswith("jsonb"):
        v = "'x'"
    return "guc", "set " + g, "SET %s = %s" % (g, v)


def read_call():
    return "read", "select", pick(
        "SELECT count(*) FROM inbox.contact", "SELECT count(*) FROM inbox.message",
        "SELECT inbox.next_snooze_due()",
        "SELECT count(*) FROM inbox.event WHERE created_at > now() - interval '1 minute'",
        "SELECT count(*) FROM inbox.contact_list(1, %d, 'unassigned')" % R.randint(1, 3))


# ---------------------------------------------------------------- direct writes aimed at the invariants

# Shapes of plain writes that once broke check_integrity() (issue 23), aimed at
# rows that exist: each takes the space of the row it names, so that the rules
# (not a missing space) decide.  Names start with "invariant " (check.py checks
# that each ran).

def bad_time():
    """a time the rules refuse (infinite, or from the year 10000 on), or one they take"""
    return weighted([
        (20, "'infinity'"), (20, "'-infinity'"), (15, "'10000-01-01 00:00:00+00'"),
        (10, "'294276-12-31 23:59:59+00'"), (10, "'9999-12-31 23:59:59.999999+00'"),
        (15, "now()"), (10, lambda: "now() - interval '%d seconds'" % R.randint(1, 10 ** 6)),
    ])


def non_object():
    """a view filter that is no JSON object (and now and then one that is)"""
    return q(pick('[]', '[{"conversation": "open"}]', '["tags"]', '3', '-1.5', '"open"', 'true', 'null',
                  '{}', '{"conversation": "open"}')) + "::jsonb"


def invariant_write_call():
    c = contact_id()
    contact_space = "(SELECT space_id FROM inbox.contact WHERE id = %s)" % c
    shape = weighted([
        (14, "delete assigned open conversation"), (6, "delete open conversation"),
        (12, "null status time"), (6, "late status null time"),
        (8, "conversation closed_at"), (5, "conversation opened_at"), (4, "conversation first_response_at"),
        (8, "event created_at"), (5, "message status time"), (5, "contact snoozed_until"),
        (8, "view filter insert"), (5, "view filter update"),
    ])
    if shape == "delete assigned open conversation":
        # assign (which opens an empty conversation if none is open), then delete the open one
        s = ("DO $$BEGIN PERFORM inbox.assign(ct.space_id, ct.id, (SELECT min(a.id) FROM inbox.agent a WHERE a.space_id = ct.space_id))"
             " FROM inbox.contact ct WHERE ct.id = %s;"
             " DELETE FROM inbox.conversation v USING inbox.contact ct"
             " WHERE ct.id = %s AND v.space_id = ct.space_id AND v.contact_id = ct.id AND v.closed_at IS NULL; END$$" % (c, c))
    elif shape == "delete open conversation":
        s = ("DELETE FROM inbox.conversation v WHERE v.space_id = %s AND v.contact_id = %s AND v.closed_at IS NULL%s"
             % (contact_space, c, pick("", " AND NOT EXISTS (SELECT FROM inbox.message m"
                                           " WHERE m.space_id = v.space_id AND m.conversation_id = v.id)")))
    elif shape in ("null status time", "late status null time"):
        status, column = R.choice([("sent", "sent_at"), ("delivered", "delivered_at"), ("read", "read_at"),
                                   ("failed", "failed_at"), ("received", "read_at"), ("pending", "sent_at")])
        target = ("(SELECT min(id) FROM inbox.message WHERE status = '%s' AND id >= %s)"
                  % (status, R.randint(1, 400)))
        sets = "%s = NULL" % column
        if shape == "late status null time":
            sets = "status = %s, %s" % (enum(["pending", "sent", "delivered"]), sets)
        s = ("UPDATE inbox.message SET %s WHERE space_id = (SELECT space_id FROM inbox.message WHERE id = %s) AND id = %s"
             % (sets, target, target))
    elif shape == "conversation closed_at":
        s = ("UPDATE inbox.conversation SET closed_at = %s WHERE space_id = %s AND contact_id = %s AND closed_at IS NULL"
             % (bad_time(), contact_space, c))
    elif shape == "conversation opened_at":
        s = ("INSERT INTO inbox.conversation (space_id, contact_id, opened_by_kind, opened_at) VALUES (%s, %s, 'user', %s)"
             % (contact_space, c, bad_time()))
    elif shape == "conversation first_response_at":
        s = ("UPDATE inbox.conversation SET first_response_at = %s WHERE space_id = %s AND contact_id = %s"
             % (bad_time(), contact_space, c))
    elif shape == "event created_at":
        s = ("INSERT INTO inbox.event (space_id, contact_id, kind, actor_kind, created_at) VALUES (%s, %s, %s, %s, %s)"
             % (contact_space, c, *R.choice([("'page_change'", "'contact'"), ("'survey_started'", "'automation'"),
                                            ("'channel_event'", "'channel'")]), bad_time()))
    elif shape == "message status time":
        m = message_id()
        s = ("UPDATE inbox.message SET %s = %s WHERE space_id = (SELECT space_id FROM inbox.message WHERE id = %s) AND id = %s"
             % (R.choice(["sent_at", "delivered_at", "read_at", "failed_at"]), bad_time(), m, m))
    elif shape == "contact snoozed_until":
        s = "UPDATE inbox.contact SET snoozed_until = %s WHERE space_id = %s AND id = %s" % (
            pick("'infinity'", "'10000-01-01 00:00:00+00'", "now() + interval '1 day'"), contact_space, c)
    elif shape == "view filter insert":
        s = "INSERT INTO inbox.view (space_id, name, filter) VALUES (%s, 'odd', %s)" % (space_id(), non_object())
    else:
        v = "(SELECT min(id) FROM inbox.view WHERE id >= %d)" % R.randint(1, 12)
        s = ("UPDATE inbox.view SET filter = %s WHERE space_id = (SELECT space_id FROM inbox.view WHERE id = %s) AND id = %s"
             % (non_object(), v, v))
    return "write", "invariant " + shape, s


def call():
    return weighted([(64, api_call), (4, apilit_call), (28, write_call), (3, invariant_write_call), (2, guc_call),
                     (2, read_call)])


def main():
    trace = os.environ.get("INBOX_FUZZ_TRACE")
    files = [open("%s/session.%d.sql" % (outdir, k + 1), "w", encoding="utf-8") for k in range(sessions)]
    for f in files:
        f.write("\\set ON_ERROR_STOP off\n\\set VERBOSITY verbose\n\\set QUIET on\n"
                "SET client_min_messages = warning;\n")
    for n in range(1, calls + 1):
        cls, name, stmt = call()
        f = files[(n - 1) % sessions]
        f.write("\\warn @@ %d %s %s\n%s;\n" % (n, cls, name.replace(" ", "_"), stmt))
        if trace:
            f.write("SELECT 'integrity after call %d: ' || invariant || ' ' || example FROM inbox.check_integrity();\n" % n)
    for f in files:
        f.write("\\warn @@ end\n")
        f.close()


main()
