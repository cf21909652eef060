{
  "targets": [
    {
      "target_name": "konnectivity_memory",
      "sources": ["native/memory.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
