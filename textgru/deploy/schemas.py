"""The bodies `textgru serve` reads and answers, as pydantic models (the
OpenAPI schema at /openapi.json is made from them). The server's limits
(texts per request, characters per text, tokens per generation) are its
own settings (`textgru.deploy.server.Limits`), checked as the request is
read, with the same JSON errors as these models' own checks."""

from pydantic import BaseModel, Field


class PredictRequest(BaseModel):
    texts: list[str] = Field(
        min_length=1,
        description="1 or more texts (at most the server's --max-texts, each at "
        "most --max-chars characters)",
        examples=[["A gem of a film.", "A dull mess."]],
    )


class LabelPrediction(BaseModel):
    """A classifier's answer (`textgru.heads.Labels`)."""

    text: str
    label: str
    probability: float
    probabilities: dict[str, float]


class LabelSetPrediction(BaseModel):
    """A multi-label classifier's answer (`textgru.heads.LabelSets`): the
    labels at or above their thresholds, likeliest first (possibly none)."""

    text: str
    labels: list[str]
    probabilities: dict[str, float]


class NumberPrediction(BaseModel):
    """A regressor's answer (`textgru.heads.Number`)."""

    text: str
    prediction: float


class PredictResponse(BaseModel):
    predictions: list[LabelPrediction | LabelSetPrediction | NumberPrediction]


class GatesRequest(BaseModel):
    text: str = Field(
        description="One text (at most the server's --max-chars characters)",
        examples=["A gem of a film."],
    )


class LayerGates(BaseModel):
    layer: str
    direction: str
    update: list[list[float]] = Field(
        description="The update gate after each token, (tokens, units)"
    )


class GatesResponse(BaseModel):
    text: str
    tokens: list[str]
    layers: list[LayerGates]


class GenerateRequest(BaseModel):
    """As `textgru generate`'s flags; the same seed gives the same text."""

    prompt: str = Field("", description="text to continue (default: a new text)")
    max_new_tokens: int = Field(
        100,
        ge=1,
        description="the most tokens to add (at most the server's "
        "--max-new-tokens); fewer if [EOS] comes",
    )
    temperature: float = Field(0.8, ge=0.0, description="0 is greedy")
    top_k: int | None = Field(None, ge=1, description="the k likeliest tokens only")
    top_p: float | None = Field(
        None, gt=0.0, le=1.0, description="nucleus sampling: the likeliest tokens "
        "whose probabilities add up to p",
    )  # fmt: skip
    seed: int | None = Field(None, description="the same seed, the same text")


class GenerateResponse(BaseModel):
    prompt: str
    text: str = Field(description="what follows the prompt")


class Health(BaseModel):
    status: str
    task: str
    labels: list[str]
    answers: str = Field(description="what POST /predict answers per text")
    format: str
