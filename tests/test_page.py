"""The page of `textgru serve` (`GET /`) in a real headless Chromium: Debian's
`chromium` and `chromedriver` (installed by `make test`), driven by
Selenium, against a real server on 127.0.0.1 serving an export. The test
types texts as a user would and reads back the labels, the probabilities
and the heatmap's values, each checked against the run itself
(`ClassifierRun.predict`, `textgru.interpret.gate_activations`)."""

import os
import shutil

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.local_server import serving
from textgru.deploy.server import make_app
from textgru.interpret import gate_activations

pytestmark = pytest.mark.browser

KEY = "a-key-of-the-page"
TEXTS = ["a dull boring plot but a superb lovely scene", "<b>good</b> fun film"]
# As this machine's Chromium must start: no sandbox as root, and no
# connections of its own (it reaches nothing but loopback).
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1280,1400",
]  # fmt: skip
WAIT = 30  # seconds for the page to answer


def _binary(name):
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: `make test` installs Debian's chromium and "
            "chromium-driver (or run `pytest -m 'not browser'`)"
        )
    return found


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(_binary("chromedriver")))
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def _heatmap(browser):
    """`(layer, direction, tokens, values (tokens, units))` as drawn."""
    table = browser.find_element(By.ID, "heatmap")
    tokens = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th.token")]
    cells = browser.execute_script(
        "return [...document.querySelectorAll('#heatmap td')].map(c => "
        "[c.dataset.token, c.dataset.unit, c.dataset.value].map(Number))"
    )
    values = np.full((len(tokens), 1 + max(unit for _, unit, _ in cells)), np.nan)
    for token, unit, value in cells:
        values[token, unit] = value
    layer = table.get_attribute("data-layer")
    return layer, table.get_attribute("data-direction"), tokens, values


def _check_heatmap(browser, run, text, direction):
    layer, drawn_direction, tokens, values = _heatmap(browser)
    expected = gate_activations(run, text, layer=layer, direction=direction)
    assert drawn_direction == direction and layer == expected.layer
    assert tokens == expected.tokens
    np.testing.assert_allclose(values, expected.update, rtol=0, atol=1e-5)


def _check_layout(browser):
    """The heatmap spans its box's width, its rows are the units that vary
    most over the tokens first (every one of the tiny model's, under the
    default top 32), and it says how many it shows."""
    box = browser.find_element(By.ID, "heatmap-box")
    table = browser.find_element(By.ID, "heatmap")
    assert table.size["width"] >= 0.95 * box.size["width"], (table.size, box.size)
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#heatmap tbody tr')].map(r => "
        "[...r.querySelectorAll('td')].map(c => Number(c.dataset.value)))"
    )
    spread = [float(np.var(values)) for values in rows]
    assert spread == sorted(spread, reverse=True)
    shown = browser.find_element(By.ID, "gate-shown").text
    assert shown.startswith(f"all {len(rows)} units, the most varying"), shown


def test_the_page_labels_texts_and_draws_their_update_gates(
    tiny_export, browser, tmp_path
):
    run, export = tiny_export
    with serving(make_app(export, api_key=KEY)) as (url, _):
        browser.get(url + "/")
        wait = WebDriverWait(browser, WAIT)
        wait.until(
            lambda b: (
                "classify model (labels: neg, pos)"
                in b.find_element(By.ID, "model").text
            )
        )
        browser.find_element(By.ID, "texts").send_keys("\n".join(TEXTS))

        # Without the key the server refuses, and the page says so.
        browser.find_element(By.ID, "label").click()
        error = wait.until(lambda b: b.find_element(By.ID, "error").text)
        assert error.startswith("401") and "API key" in error

        browser.find_element(By.ID, "api-key").send_keys(KEY)
        browser.find_element(By.ID, "label").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#heatmap td"))
        assert not browser.find_element(By.ID, "error").is_displayed()

        rows = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
        expected = run.predict(TEXTS)
        assert len(rows) == len(TEXTS)
        for row, prediction in zip(rows, expected, strict=True):
            text, label, _ = row.find_elements(By.TAG_NAME, "td")
            assert text.text == prediction["text"]  # as text: no <b> element
            assert label.text == prediction["label"]
            bars = row.find_elements(By.CSS_SELECTOR, ".bar")
            shown = {
                b.get_attribute("data-label"): float(
                    b.get_attribute("data-probability")
                )
                for b in bars
            }
            assert shown.keys() == prediction["probabilities"].keys()
            for name, p in prediction["probabilities"].items():
                assert abs(shown[name] - p) <= 1e-5
        assert not browser.find_elements(By.CSS_SELECTOR, "#results b")

        # The first text's gates, forward; then its backward direction.
        _check_heatmap(browser, run, TEXTS[0], "forward")
        _check_layout(browser)
        layers = Select(browser.find_element(By.ID, "gate-layer"))
        assert [o.text for o in layers.options] == [
            "forward_gru_0 (forward)", "backward_gru_0 (backward)"
        ]  # fmt: skip
        layers.select_by_index(1)
        _check_heatmap(browser, run, TEXTS[0], "backward")

        # Clicking the second text draws its gates (the chosen layer kept).
        rows[1].click()
        wait.until(lambda b: "fun film" in b.find_element(By.ID, "gate-text").text)
        _check_heatmap(browser, run, TEXTS[1], "backward")
        if os.environ.get("TEXTGRU_PAGE_SCREENSHOT"):
            rows[0].click()
            wait.until(lambda b: "scene" in b.find_element(By.ID, "gate-text").text)
            Select(browser.find_element(By.ID, "gate-layer")).select_by_index(0)
            browser.save_screenshot(os.environ["TEXTGRU_PAGE_SCREENSHOT"])
    # The page broke no rule of its policy and loaded nothing that failed.
    problems = [
        e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
    ]
    assert all("401" in message for message in problems), problems


@pytest.fixture(scope="module")
def other_tasks(tmp_path_factory):
    """Tiny multi-label and regression runs, each with its ONNX export."""
    from tests.test_multilabel import SIZES, _label_sets, _write
    from tests.test_regression import _scored
    from textgru.deploy import exporter
    from textgru.tasks import (
        MultiLabelConfig,
        RegressionConfig,
        train_multi_label,
        train_regressor,
    )

    folder = tmp_path_factory.mktemp("other_tasks")
    tags = _write(folder / "tags.csv", _label_sets(300))
    sizes = {**SIZES, "epochs": 4}
    tagged = train_multi_label(
        MultiLabelConfig(dataset=tags, out=str(folder / "tags"), **sizes), verbose=0
    )
    rated = train_regressor(
        RegressionConfig(
            dataset=_scored(folder / "scored.csv"), target_column="score",
            out=str(folder / "rated"), **sizes,
        ),
        verbose=0,
    )  # fmt: skip
    return {
        run.task.name: (run, exporter.export(run, folder / f"{run.task.name}-export"))
        for run in (tagged, rated)
    }


@pytest.mark.parametrize("task", ["multilabel", "regress"])
def test_the_page_answers_every_task(other_tasks, browser, task):
    """A chip per label at its threshold (multi-label), the number
    (regression), and the update gates of either, as the run gives them."""
    run, export = other_tasks[task]
    texts = ["rain storm goal team n1", "good great fun film"]
    with serving(make_app(export), log_config=None) as (url, _):
        browser.get(url + "/")
        wait = WebDriverWait(browser, WAIT)
        wait.until(lambda b: f"{task} model" in b.find_element(By.ID, "model").text)
        box = browser.find_element(By.ID, "texts")
        box.clear()
        box.send_keys("\n".join(texts))
        browser.find_element(By.ID, "label").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#heatmap td"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
        assert len(rows) == len(texts)
        for row, answer in zip(rows, run.answers(texts), strict=True):
            cells = row.find_elements(By.TAG_NAME, "td")
            assert cells[0].text == answer["text"]
            if task == "multilabel":
                chips = [
                    c.text for c in cells[1].find_elements(By.CSS_SELECTOR, ".chip")
                ]
                assert chips == answer["labels"]
                assert len(cells[2].find_elements(By.CSS_SELECTOR, ".bar")) == len(
                    run.label_names
                )
            else:
                shown = float(cells[1].get_attribute("data-value"))
                assert abs(shown - answer["prediction"]) <= 1e-5
                assert cells[1].text == f"{answer['prediction']:.3f}"
        _check_heatmap(browser, run, texts[0], "forward")
