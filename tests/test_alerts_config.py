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
    assert (b.name, b.scope, b.entries, b.period, b.limit_usd) == (
        "monthly",
        "account",
        (("account", ""),),
        "month",
        100,
    )
    assert b.thresholds == DEFAULT_THRESHOLDS and b.include_byok and b.forecast and b.spike is not None
    assert b.spike.factor == 3 and b.spike.window_days == 14 and b.spike.min_usd == 5
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
        ("[teams.t]\n", "team 't': keys: a team needs keys, workspaces, apps or members"),
        ('[teams.t]\nkeys = "a"\nbosses = ["x"]\n', "team 't': bosses: unknown field"),
        (
            '[delivery.email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\npassword = "hunter2"\n',
            "[delivery.email]: password: not allowed in the file",
        ),
        ('[delivery.email]\nhost = "h"\nfrom = "nobody"\nto = ["c@d"]\n', "[delivery.email]: from: 'nobody' is not"),
        ('[delivery.webhook]\nurl = "ftp://x/secret-token"\n', "[delivery.webhook]: url: expected an http://"),
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
