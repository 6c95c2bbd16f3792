"""The alerts config file: what parses, and one clear line (file, budget, field) for every bad value."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from core.errors import ConfigError
from orusage.alerts.config import DEFAULT_THRESHOLDS, load_config, parse_config
from tests.helpers import REPO, run_cli

FIVE_LINES = """[[budget]]
name = "monthly"
scope = "account"
period = "month"
limit_usd = 100
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_five_line_budget_parses_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FIVE_LINES))
    (b,) = config.budgets
    assert (b.name, b.scope, b.entries, b.period) == ("monthly", "account", (("account", ""),), "month")
    assert b.limit_usd == pytest.approx(100)
    assert b.thresholds == DEFAULT_THRESHOLDS and b.include_byok and b.forecast and b.spike is not None
    assert b.spike.factor == 3 and b.spike.window_days == 14 and b.spike.min_usd == pytest.approx(5)
    assert config.rules.stale_hours == 26 and not config.rules.mirror_key_limits
    assert not config.delivery.webhook and config.delivery.email is None


def test_the_documented_example_parses() -> None:
    doc = (REPO / "docs" / "budgets-and-alerts.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert example, "docs/budgets-and-alerts.md needs a ```toml example of the config"
    config = parse_config(tomllib.loads(example.group(1)), Path("config.toml"))
    assert len(config.budgets) >= 4 and config.teams and config.rules.mirror_key_limits
    assert {b.entries[0][0] for b in config.budgets} >= {"account", "team", "model", "app"}
    assert config.delivery.webhook and config.delivery.slack and config.delivery.email is not None
    assert config.delivery.discord and config.delivery.teams
    assert config.anomalies.enabled and config.anomalies.dimensions == ("model", "key", "app", "provider")
    assert (config.rules.remind_hours, config.rules.key_limit_percent, config.rules.key_unused_days) == (24, 80, 30)


def test_scopes_teams_and_options(tmp_path: Path) -> None:
    text = """
[alerts]
thresholds = [25, 100]
spike_factor = 4

[teams.research]
keys = ["notebooks"]
workspaces = ["Research"]

[[budget]]
name = "models"
scope = ["model:anthropic/*", "model:openai/gpt-5*"]
period = "weekly"
limit_usd = 50.5
byok = false
spike = false

[[budget]]
name = "research"
scope = "team:research"
period = "day"
limit_usd = 10
thresholds = [90]
spike_window_days = 7
"""
    config = load_config(write(tmp_path, text))
    models, research = config.budgets
    assert models.entries == (("model", "anthropic/*"), ("model", "openai/gpt-5*")) and models.period == "week"
    assert models.thresholds == (25.0, 100.0) and not models.include_byok and models.spike is None
    assert research.thresholds == (90.0,) and research.spike is not None
    assert (research.spike.factor, research.spike.window_days) == (4.0, 7)
    assert config.teams["research"].entries == (("key", "notebooks"), ("workspace", "Research"))


BAD = [
    ('scope = "acount"', "budget 'b': scope: unknown scope kind 'acount'"),
    ('scope = "team:nobody"', "budget 'b': scope: no team 'nobody' in [teams]"),
    ('scope = ["key:a", "app:b"]', "budget 'b': scope: mixes kinds that would count the same spend twice"),
    ('scope = "model:"', "budget 'b': scope: model needs a value"),
    ("scope = 3", "budget 'b': scope: expected a string"),
    ('period = "fortnight"', "budget 'b': period: 'fortnight' is not a period"),
    ("limit_usd = -5", "budget 'b': limit_usd: -5 is out of range"),
    ('limit_usd = "100"', "budget 'b': limit_usd: expected a number, got a string"),
    ("limit_usd = true", "budget 'b': limit_usd: expected a number, got true/false"),
    ("thresholds = [0, 50]", "budget 'b': thresholds: 0 is not a percentage"),
    ('thresholds = "80"', "budget 'b': thresholds: expected a list of percentages"),
    ('byok = "yes"', "budget 'b': byok: expected true or false"),
    ("limt = 5", "budget 'b': limt: unknown field"),
    ("spike_factor = 1", "budget 'b': spike_factor: 1 is out of range"),
    ("spike_window_days = 2", "budget 'b': spike_window_days: 2 is out of range"),
    # Numbers that are not amounts: TOML has nan and inf, and nan passes every range comparison.
    ("limit_usd = nan", "budget 'b': limit_usd: nan is not a finite number"),
    ("limit_usd = inf", "budget 'b': limit_usd: inf is not a finite number"),
    ("limit_usd = 1e-300", "budget 'b': limit_usd: 1e-300 is out of range (must be >= 0.01"),
    ("limit_usd = 0", "budget 'b': limit_usd: 0 is out of range"),
    ("spike_min_usd = -inf", "budget 'b': spike_min_usd: -inf is not a finite number"),
    ("spike_factor = nan", "budget 'b': spike_factor: nan is not a finite number"),
    ("thresholds = [nan]", "budget 'b': thresholds: nan is not a percentage"),
    ('name = "b\\r\\nBcc: x@example.com"', "budget 'b\\r\\nBcc: x@example.com': name: holds a control"),
]


@pytest.mark.parametrize(("line", "says"), BAD, ids=[b[0] for b in BAD])
def test_each_bad_value_names_the_file_the_budget_and_the_field(tmp_path: Path, line: str, says: str) -> None:
    lines = {
        "name": 'name = "b"',
        "scope": 'scope = "account"',
        "period": 'period = "month"',
        "limit_usd": "limit_usd = 1",
    }
    key = line.split("=")[0].strip()
    lines[key] = line
    path = write(tmp_path, "[[budget]]\n" + "\n".join(lines.values()) + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: {says}"), text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[budget]]\nscope = "account"\nperiod = "day"\nlimit_usd = 1\n', "budget #1: name: missing"),
        ('[[budget]]\nname = "b"\nperiod = "day"\nlimit_usd = 1\n', "budget 'b': scope: missing"),
        ('[[budget]]\nname = "b"\nscope = "account"\nperiod = "day"\n', "budget 'b': limit_usd: missing"),
        (FIVE_LINES + FIVE_LINES, "budget 'monthly': name: another budget has this name"),
        ("[alerts]\nstale_hours = -1\n", "[alerts]: stale_hours: -1 is out of range"),
        ("[alerts]\nmirror_key_limits = 1\n", "[alerts]: mirror_key_limits: expected true or false"),
        ('[teams.t]\nkeys = ["a"]\napps = ["b"]\n', "team 't': apps: mixes kinds"),
        ("[teams.t]\n", "team 't': keys: a team needs keys, workspaces, apps, members or tags"),
        ('[teams.t]\nkeys = "a"\nbosses = ["x"]\n', "team 't': bosses: unknown field"),
        (
            '[delivery.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\npassword = "hunter2"\n',
            "[delivery.email]: password: not allowed in the file",
        ),
        ('[delivery.email]\nhost = "h"\nfrom = "nobody"\nto = ["c@d"]\n', "[delivery.email]: from: 'nobody' is not"),
        ('[delivery.webhook]\nurl = "ftp://x/secret-token"\n', "[delivery.webhook]: url: expected an http://"),
        ("[alerts]\nstale_hours = nan\n", "[alerts]: stale_hours: nan is not a finite number"),
        ("[alerts]\ncredits_days = nan\n", "[alerts]: credits_days: nan is not a finite number"),
        ("[alerts]\nspike_min_usd = inf\n", "[alerts]: spike_min_usd: inf is not a finite number"),
        (
            '[delivery.webhook]\nurl = "http://hooks.test/secret-token\\u0007"\n',
            "[delivery.webhook]: url: has a control",
        ),
        ('[delivery.webhook]\nurl = "http://hooks.test/a secret-token"\n', "[delivery.webhook]: url: has a control"),
        ('[delivery.slack]\nurl = "https://secret-token:99999/x"\n', "[delivery.slack]: url: is not a valid URL"),
        ('[delivery.slack]\nurl = "https:///secret-token"\n', "[delivery.slack]: url: has no host"),
        ('[delivery.webhook]\nurl = "http://bad_host!/secret-token"\n', "[delivery.webhook]: url: has a host that"),
        ('[teams.t]\nkeys = ["a\\u001b[2J"]\n', "team 't': keys: holds a control character"),
        (
            '[delivery.email]\nhost = "smtp .example.com"\nfrom = "a@b"\nto = ["c@d"]\n',
            "[delivery.email]: host: 'smtp .example.com' is not a host name",
        ),
        ('[delivery.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d\\r\\nBcc: e@f"]\n', "[delivery.email]: to: holds"),
        ('[delivery.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d, e@f"]\n', "[delivery.email]: to: 'c@d, e@f' is not"),
        (
            '[delivery.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\nusername = "u"\nstarttls = false\n',
            "[delivery.email]: username: AUTH over a connection without TLS would send the password in the clear",
        ),
        ("[budgets]\n", "budgets: unknown section"),
        ("[anomalies]\nmad_factor = 0\n", "[anomalies]: mad_factor: 0 is out of range (must be > 0"),
        ('[anomalies]\ndimensions = ["member"]\n', "[anomalies]: dimensions: 'member' is not watched"),
        ("[anomalies]\nwindow = 7\n", "[anomalies]: window: unknown field"),
        ("[alerts]\nkey_limit_percent = 120\n", "[alerts]: key_limit_percent: 120 is out of range"),
        ('[delivery.discord]\nurl = "discord.example/secret-token"\n', "[delivery.discord]: url: expected an http://"),
        ("[[budget]\n", "not valid TOML"),
    ],
)
def test_other_bad_values_name_their_section_and_field(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {says}"), str(info.value)
    assert "hunter2" not in str(info.value) and "secret-token" not in str(info.value)


def test_a_missing_file_says_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alerts config .*nope\.toml does not exist.*ORUSAGE_CONFIG"):
        load_config(tmp_path / "nope.toml")


def test_a_bad_config_exits_2_with_one_line_through_the_cli(tmp_path: Path) -> None:
    path = write(tmp_path, FIVE_LINES.replace('"month"', '"quarter"'))
    result = run_cli(["alerts", "check", "--db", str(tmp_path / "x.duckdb")], {"ORUSAGE_CONFIG": str(path)})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"orusage: {path}: budget 'monthly': period: 'quarter' is not a period. "
        "Use day, week (Monday to Sunday, UTC) or month."
    )
    assert not (tmp_path / "x.duckdb").exists()  # nothing was created


def test_auth_without_tls_only_when_asked_for(tmp_path: Path) -> None:
    text = '[delivery.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\nusername = "u"\nstarttls = false\n'
    email = load_config(write(tmp_path, text + "auth_without_tls = true\n")).delivery.email
    assert email is not None and email.auth_without_tls and email.username == "u" and not email.starttls
    # Without a username there is nothing to protect: plain SMTP is allowed as before.
    email = load_config(write(tmp_path, text.replace('username = "u"\n', ""))).delivery.email
    assert email is not None and email.username is None and not email.auth_without_tls


def test_good_urls_and_numbers_still_parse(tmp_path: Path) -> None:
    text = FIVE_LINES.replace("limit_usd = 100", "limit_usd = 0.01") + (
        '[delivery.webhook]\nurl = "https://hooks.example.com:8443/orusage/T0K%20EN?x=1#f"\n'
        '[delivery.slack]\nurl = "http://[::1]:9000/services/T/B/X"\n'
    )
    config = load_config(write(tmp_path, text))
    assert config.budgets[0].limit_usd == pytest.approx(0.01)
    assert config.delivery.webhook_url is not None and config.delivery.slack_url is not None


@pytest.mark.reliability("bad-input")
@pytest.mark.parametrize(
    ("text", "says"),
    [
        (FIVE_LINES.replace("limit_usd = 100", "limit_usd = nan"), "limit_usd: nan is not a finite number."),
        ("[alerts]\nstale_hours = nan\n", "stale_hours: nan is not a finite number."),
        ('[delivery.webhook]\nurl = "http://127.0.0.1:9/hook/SENTINEL-T0KEN\\u0000"\n', "url: has a control character"),
    ],
    ids=["limit-nan", "stale-nan", "url-control"],
)
def test_impossible_config_values_exit_2_with_one_line_before_anything(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    result = run_cli(["alerts", "check", "--db", str(tmp_path / "x.duckdb")], {"ORUSAGE_CONFIG": str(path)})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"orusage: {path}: ") and says in lines[0], result.stderr
    assert "SENTINEL" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.duckdb").exists()  # nothing was created, nothing left pending


@pytest.mark.reliability("bad-input")
@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("ORUSAGE_WEBHOOK_URL", "http://127.0.0.1:9/hook/SENTINEL-T0KEN\x07", "has a control character"),
        ("ORUSAGE_SLACK_WEBHOOK_URL", "https://hooks.test/SENTINEL-T0KEN x", "has a control character or a space"),
        ("ORUSAGE_WEBHOOK_URL", "hooks.test/SENTINEL-T0KEN", "expected an http:// or https:// URL"),
        ("OPENROUTER_BASE_URL", "http://openrouter.ai\x1b/api/v1", "has a control character"),
    ],
    ids=["webhook-bell", "slack-space", "webhook-no-scheme", "base-url-escape"],
)
def test_bad_url_settings_are_refused_when_read(tmp_path: Path, setting: str, value: str, says: str) -> None:
    for args in (["alerts", "check", "--dry-run"], ["status"]):  # every command reads the settings first
        result = run_cli([*args, "--db", str(tmp_path / "x.duckdb")], {setting: value})
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"orusage: {setting} is invalid: {result.stderr.split(' is invalid: ', 1)[1].strip()}"
        ]
        assert says in result.stderr and "SENTINEL" not in result.stderr
