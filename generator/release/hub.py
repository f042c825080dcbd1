"""Publish a release to the Hugging Face Hub.

``push_release`` builds the export (Parquet per config and split, the card, the contact sheet)
in a temporary folder, creates the dataset repository if needed, uploads the folder in one commit
(removing stale ``data/`` and ``images/`` files of an earlier release) and optionally tags it.

The token comes from the argument, else ``HF_TOKEN``, else the ``huggingface_hub`` login. It is
never printed: every Hub or network error is re-raised as a one-line :class:`UsageError` whose
text has the token masked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from generator.errors import UsageError
from generator.release.card import DEFAULT_LICENSE, validate_card
from generator.release.replace import temp_folder

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_HF_TOKEN_SHAPE = re.compile(r"hf_[A-Za-z0-9]{8,}")


def resolve_token(token: str | None = None) -> str:
    """The token to use: the argument, else ``HF_TOKEN``, else the ``huggingface_hub`` login."""
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()  # HF_TOKEN first, then the token saved by `hf auth login`
    if not found:
        raise UsageError(
            "push: no Hugging Face token; pass token=..., set HF_TOKEN, or run `hf auth login`"
        )
    return found


def sanitize(message: str, secret: str | None) -> str:
    """``message`` on one line (at most 400 characters), the secret and token look-alikes masked."""
    text = str(message)
    if secret:
        text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    text = _HF_TOKEN_SHAPE.sub("hf_***", text)
    text = " ".join(ln.strip() for ln in text.splitlines() if ln.strip())
    return text if len(text) <= 400 else text[:397] + "..."


def _hub_error(action: str, exc: BaseException, token: str) -> UsageError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    detail = sanitize(str(exc) or type(exc).__name__, token)
    where = f" (HTTP {status})" if status else ""
    hint = ""
    if status == 401:
        hint = "; the token was rejected (check HF_TOKEN or `hf auth login`)"
    elif status == 403:
        hint = "; the token may lack write access to this namespace"
    return UsageError(f"push: {action} failed{where}: {detail}{hint}")


def push_release(
    data_dir: str | os.PathLike[str],
    repo_id: str,
    private: bool = False,
    tag: str | None = None,
    token: str | None = None,
    license: str = DEFAULT_LICENSE,
    *,
    commit_message: str | None = None,
    split_ratios: tuple[float, float, float] | None = None,
    fake_image_box: str = "none",
) -> str:
    """Export the store at ``data_dir`` and publish it as the dataset repo ``repo_id``.

    Returns the repository URL. ``tag`` (e.g. ``v1.0``) tags the new commit.
    ``fake_image_box``: ``none`` (DGM4's ``[]``) or ``full`` (the whole frame).
    """
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise UsageError(f"push: repo id must look like 'namespace/name', got {repo_id!r}")
    if tag is not None and not _TAG.match(tag):
        raise UsageError(f"push: tag must be letters, digits, '.', '_' or '-', got {tag!r}")
    secret = resolve_token(token)

    # Imported here: huggingface_hub reads HF_ENDPOINT and friends when it is first imported.
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from generator.release.export import MARKER, export_dataset

    try:
        import httpx2

        network_errors: tuple[type[BaseException], ...] = (
            HfHubHTTPError,
            httpx2.HTTPError,
            OSError,
        )
    except ImportError:  # pragma: no cover - huggingface_hub without httpx2
        network_errors = (HfHubHTTPError, OSError)

    api = HfApi(token=secret)
    try:
        api.whoami()
    except network_errors as exc:
        raise _hub_error("checking the token", exc, secret) from None

    with temp_folder("dgm4plus-push-") as tmp:
        folder = export_dataset(
            data_dir,
            Path(tmp) / "release",
            license=license,
            repo_id=repo_id,
            split_ratios=split_ratios,
            fake_image_box=fake_image_box,
        )
        action = "validating the card"
        try:
            # Before anything is created or uploaded: a card the Hub refuses changes nothing.
            validate_card((folder / "README.md").read_text(encoding="utf-8"))
            action = "creating the repository"
            url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            action = "uploading the release"
            commit = api.upload_folder(
                folder_path=folder,
                repo_id=repo_id,
                repo_type="dataset",
                commit_message=commit_message or "DGM4+ release",
                ignore_patterns=[MARKER],
                delete_patterns=["data/**", "images/**"],
            )
            if tag is not None:
                action = f"tagging {tag}"
                api.create_tag(repo_id, tag=tag, repo_type="dataset", revision=commit.oid)
        except ValueError as exc:  # the Hub rejected the card's YAML (validate-yaml)
            raise UsageError(f"push: {action} failed: {sanitize(str(exc), secret)}") from None
        except network_errors as exc:
            raise _hub_error(action, exc, secret) from None
    return str(url)


__all__ = ["push_release", "resolve_token", "sanitize"]
