"""Words to ids for the IMDB reproduction: Keras' TextVectorization, configured once."""

from __future__ import annotations

import keras
import tensorflow as tf

_APOSTROPHE_IN_WORD = "\x01"  # an apostrophe between letters ("life's") stays with the letters after it


@keras.saving.register_keras_serializable(package="tf_lstm")
def standardize_review(texts: tf.Tensor) -> tf.Tensor:
    """The tokens of the Theano tutorial's preprocessing (Moses' ``tokenizer.perl -l en``, then lower case),
    as spaces between tokens.

    Every punctuation mark is a token of its own, ``<br />`` included (``< br / >``, as the tutorial's
    reviews have them); an apostrophe between letters starts a token (``life's`` → ``life 's``); hyphens
    inside words stay. Moses' other rules (non-breaking prefixes such as ``mr.``, commas inside numbers)
    change a few tokens in a thousand and are left out.
    """
    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"(\pL)'(\pL)", rf"\1 {_APOSTROPHE_IN_WORD}\2")
    texts = tf.strings.regex_replace(texts, r"([^\w\s.\-\x01])", r" \1 ")
    texts = tf.strings.regex_replace(texts, r"(\.+)(\s|$)", r" \1 \2")
    return tf.strings.regex_replace(texts, _APOSTROPHE_IN_WORD, "'")


def make_vectorizer(texts, vocabulary_size: int = 10_000) -> keras.layers.TextVectorization:
    """A TextVectorization adapted on `texts`: id 0 = padding, 1 = any word outside the
    `vocabulary_size` − 2 most frequent ones, the rest by frequency."""
    if not isinstance(vocabulary_size, int) or vocabulary_size < 3:
        raise ValueError(f"vocabulary_size must be an integer >= 3, got vocabulary_size={vocabulary_size!r}.")
    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocabulary_size, standardize=standardize_review, output_mode="int", ragged=True
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return vectorizer
