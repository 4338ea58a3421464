# karmada-reconciler, as `karmadactl init` builds it around an installed binary.
# Build by hand: cp $(command -v karmada-reconciler) . && docker build -t karmada-reconciler:dev .
FROM gcr.io/distroless/cc-debian12:nonroot
COPY karmada-reconciler /usr/local/bin/karmada-reconciler
ENTRYPOINT ["/usr/local/bin/karmada-reconciler"]
