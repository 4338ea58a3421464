complete --keep-order --exclusive --command karmadactl --arguments "(COMPLETE=fish karmadactl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
