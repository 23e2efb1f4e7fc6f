"""What each figure of `policy-qa bench` means, written into its JSON report."""

NOTES = (
    "cpu_ms_per_answer / server_cpu_ms_per_answer: CPU time (all threads) per "
    "answer, a figure that contention from other processes barely changes",
    "latency: one question at a time in this process; 'ours_uncached' has the answer "
    "cache disabled (cache_size=0), 'ours_cached' has every question cached first",
    "rss_mb ours/tutorial: peak RSS of the cold-start process after its first answer",
    "http: 'unique' questions get a suffix of three ordinary words so none is a "
    "cache hit, at least 50 per client (the ramp-up and the tail are a small part "
    "of the run); 'new_word' gives each a number never seen before instead, a word "
    "the decision must embed for every question (harder than real traffic); "
    "'repeated' cycles the labelled questions (most are cache hits)",
    "serving: /api/ask at the most clients (distinct questions) over the raw batched "
    "encoder; 1-client p50 over one raw query embedding; the idle server's CPU (% of "
    "a core, /proc/PID/stat); spawn-to-/healthz of `policy-qa serve` over importing "
    "faiss, fastapi, gradio, uvicorn and sentence-transformers and loading the model",
    "encoder: the raw encoder is sentence-transformers' encode on torch (the model as "
    "published); when the server runs another encoder (POLICY_QA_ENCODER: auto picks "
    "OpenVINO or ONNX Runtime where they are faster), "
    "'encoder_configured' is that encoder's own raw rate and 'serving_vs_configured' "
    "the ratios against it",
    "latency.ours_configured: the server's encoder answering one question at a time "
    "in this process (questions distinct as in the HTTP 1-client run); "
    "'in_process_p50_vs_one_embedding' times 'http_p50_vs_in_process' is the 1-client "
    "ratio: the answering path's share and HTTP's",
    "cpu_budget: one answer's CPU at the most clients, on the server's encoder: the "
    "model (raw batched encode), the rest of the answering path (in-process, batches "
    "of 32), HTTP and the web stack (server CPU per answer less the in-process path) "
    "and the load client (its threads' CPU, on the same cores); ceiling_vs_encoder = "
    "cores / (server + client) CPU per answer over the encoder's batched rate, the "
    "most the throughput ratio can read on this machine with these costs",
)
