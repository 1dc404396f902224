"""Words to ids for the IMDB reproduction: Keras' TextVectorization, configured once."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_lstm")
def standardize_review(texts: tf.Tensor) -> tf.Tensor:
    """Lower case, HTML line breaks (``<br />``, frequent in IMDB) to spaces, punctuation removed."""
    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\w\s']", " ")


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
