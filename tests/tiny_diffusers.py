"""A tiny, randomly initialised text-to-image pipeline of a real diffusers class, built offline.

No Hub file is needed: the configs are small and written here, the weights are random (seeded),
and both tokenizers are word-level ``tokenizers`` models over a vocabulary of our own. The
pipeline is saved with ``save_pretrained`` so the real backend loads it from a folder exactly as
it would load a downloaded snapshot. Used by the tests and by bench/bench_diffusers.py.
"""

from __future__ import annotations

from pathlib import Path

#: Words the tiny tokenizers know; every other word becomes [UNK] (fine for random weights).
VOCAB_WORDS = [
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "with",
    "and",
    "two",
    "three",
    "people",
    "person",
    "nurse",
    "referee",
    "bishop",
    "politician",
    "news",
    "photo",
    "photojournalism",
    "clear",
    "faces",
    "face",
    "standing",
    "inside",
    "under",
    "over",
    "desert",
    "moon",
    "volcano",
    "market",
    "street",
    "city",
    "office",
    "crowd",
    "light",
    "lighting",
    "daylight",
    "wide",
    "medium",
    "close",
    "up",
    "shot",
    "no",
    "text",
    "letters",
    "logos",
    "watermarks",
    "realistic",
    "absurd",
    "impossible",
    "backdrop",
]

TEXT_DIM = 32  # hidden size of both text encoders (Flux: CLIP pooled dim and T5 joint dim)
MAX_TOKENS = 32  # CLIP position embeddings; the backend's max_sequence_length for T5 stays below


def _word_tokenizer(model_max_length: int):  # -> transformers.PreTrainedTokenizerFast
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[EOS]"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(set(VOCAB_WORDS)))}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        eos_token="[EOS]",
        model_max_length=model_max_length,
    )


def build_tiny_flux(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny random ``FluxPipeline`` (the default model's class) to ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(seed)
    tokenizer = _word_tokenizer(MAX_TOKENS)
    tokenizer_2 = _word_tokenizer(MAX_TOKENS)
    vocab_size = len(tokenizer)
    clip = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=TEXT_DIM,
            intermediate_size=48,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=MAX_TOKENS,
            projection_dim=TEXT_DIM,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
        )
    ).eval()
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=vocab_size,
            d_model=TEXT_DIM,
            d_kv=8,
            d_ff=48,
            num_layers=1,
            num_heads=2,
            relative_attention_num_buckets=8,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=2,
        )
    ).eval()
    latent_channels = 4
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=latent_channels,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=64,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.06,
        scaling_factor=1.5,
    ).eval()
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=latent_channels * 4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=TEXT_DIM,
        pooled_projection_dim=TEXT_DIM,
        guidance_embeds=False,
        axes_dims_rope=(4, 4, 8),
    ).eval()
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=clip,
        tokenizer=tokenizer,
        text_encoder_2=t5,
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )
    out = Path(folder)
    pipe.save_pretrained(out)
    # A model card with a licence, as Hub repos have one: the backend records it.
    (out / "README.md").write_text(
        "---\nlicense: apache-2.0\n---\n# tiny random Flux (tests only)\n"
    )
    return out


def build_tiny_sdxl(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny random ``StableDiffusionXLPipeline`` (the SDXL family's class) to ``folder``:
    two CLIP text encoders (the second with a projection), a two-level UNet with SDXL's
    text-and-time conditioning, a two-level VAE, an Euler scheduler."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = _word_tokenizer(MAX_TOKENS)
    tokenizer_2 = _word_tokenizer(MAX_TOKENS)

    def clip_config() -> CLIPTextConfig:
        return CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=TEXT_DIM,
            intermediate_size=48,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=MAX_TOKENS,
            projection_dim=TEXT_DIM,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
        )

    time_dim = 8
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        cross_attention_dim=2 * TEXT_DIM,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_dim,
        projection_class_embeddings_input_dim=TEXT_DIM + 6 * time_dim,
    ).eval()
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=32,
    ).eval()
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(clip_config()).eval(),
        tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(clip_config()).eval(),
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=EulerDiscreteScheduler(),
    )
    out = Path(folder)
    pipe.save_pretrained(out)
    (out / "README.md").write_text(
        "---\nlicense: openrail++\n---\n# tiny random SDXL (tests only)\n"
    )
    return out
