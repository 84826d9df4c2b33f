"""Static (GloVe / word2vec, via gensim) and contextual (BERT encoder) embeddings."""
