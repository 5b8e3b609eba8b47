"""The `textgru` command: version, help, errors and the demo."""

import argparse
import json

import pytest

import textgru
from tests.cli_output import one_line_error
from textgru import cli
from textgru.cli import main
from textgru.tasks import ClassifierConfig, LanguageModelConfig
from textgru.tasks.demo import DemoConfig, run_demo


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"textgru {textgru.__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2


def test_bad_demo_argument_is_one_line_and_exit_2(capsys):
    assert one_line_error(capsys, main(["demo", "--epochs", "0"])) == (
        "textgru: error: Expected --epochs to be a positive integer. "
        "Received: --epochs 0"
    )


def test_demo_learns_the_counting_task():
    result = run_demo(DemoConfig(epochs=3, seed=1), verbose=0)
    assert result["test_accuracy"] > result["majority_baseline"] + 0.2


def test_demo_command_prints_its_result_as_json(capsys):
    assert main(["demo", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.rindex("{\n") :])
    assert set(result) == {"test_accuracy", "majority_baseline", "train_seconds"}
    assert 0.0 <= result["test_accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("task", "config_class"),
    [("classify", ClassifierConfig), ("lm", LanguageModelConfig)],
)
def test_every_config_field_is_a_flag(task, config_class, capsys):
    with pytest.raises(SystemExit):
        main(["train", task, "--help"])
    help_text = capsys.readouterr().out
    for field in config_class.__dataclass_fields__:
        assert f"--{field.replace('_', '-')}" in help_text


def test_every_flag_has_help_with_at_most_one_default():
    parser = cli.build_parser()
    stack = [parser]
    checked = 0
    while stack:
        current = stack.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
                continue
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            checked += 1
            assert action.help, (current.prog, action.dest)
            assert action.help.count("default") <= 1, (current.prog, action.help)
    assert checked > 80
