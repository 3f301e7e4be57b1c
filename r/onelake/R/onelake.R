# OneLake from R, with the paths of onelake-contents' file browser and the `onelake://` protocol:
#   "data.csv" or "onelake://data.csv"     beside the running notebook (the root outside a notebook)
#   "/reports/q3.csv" or "onelake:///..."  below the Jupyter root
#   "onelake:////ws/Item.Lakehouse/Files/x" or "//ws/..."  any workspace the user may read
#   "abfss://ws@onelake.dfs.fabric.microsoft.com/Item.Lakehouse/Files/x"  as the Fabric portal prints it
# Settings as the command line reads them: the ONELAKE_* environment, then the settings file
# ($ONELAKE_CONFIG, else ~/.config/onelake-contents/config.json). Tokens follow the broker contract
# (in a kernel, ONELAKE_BROKER_URL is the kernel's own server) and are kept until shortly before
# they expire: one broker call per token lifetime, whatever the number of reads. Settings are read
# with [[ ]], never $: `$` matches a prefix, and broker_token is one of broker_token_file.

.state <- new.env(parent = emptyenv())

STORAGE_SCOPE <- "https://storage.azure.com/.default"
SERVICE_VERSION <- "2023-11-03"
SETTINGS <- c(
  endpoint = "ONELAKE_ENDPOINT", workspace = "ONELAKE_WORKSPACE", root = "ONELAKE_ROOT",
  broker_url = "ONELAKE_BROKER_URL", broker_token = "ONELAKE_BROKER_TOKEN",
  broker_token_file = "ONELAKE_BROKER_TOKEN_FILE", ca_file = "ONELAKE_CA_FILE", scope = "ONELAKE_SCOPE"
)
CREDENTIAL <- c("broker_token", "broker_token_file")

.settings_file <- function() {
  explicit <- Sys.getenv("ONELAKE_CONFIG")
  if (nzchar(explicit)) return(path.expand(explicit))
  base <- Sys.getenv("XDG_CONFIG_HOME")
  if (!nzchar(base)) base <- file.path(path.expand("~"), ".config")
  file.path(base, "onelake-contents", "config.json")
}

#' The settings in use: the environment wins over the settings file; the broker token and its
#' token file come together from the one that sets either.
onelake_settings <- function() {
  path <- .settings_file()
  saved <- if (file.exists(path)) jsonlite::fromJSON(path, simplifyVector = FALSE) else list()
  from_env <- as.list(Filter(nzchar, vapply(SETTINGS, Sys.getenv, "")))
  settings <- list(endpoint = "https://onelake.dfs.fabric.microsoft.com", scope = STORAGE_SCOPE)
  for (name in names(SETTINGS)) {
    if (name %in% CREDENTIAL) next
    if (!is.null(from_env[[name]])) settings[[name]] <- from_env[[name]]
    else if (!is.null(saved[[name]]) && nzchar(saved[[name]])) settings[[name]] <- saved[[name]]
  }
  credential <- if (any(CREDENTIAL %in% names(from_env))) from_env else saved
  for (name in CREDENTIAL) settings[[name]] <- credential[[name]]
  missing <- setdiff(c("workspace", "root", "broker_url"), names(settings))
  if (length(missing) > 0) {
    stop(sprintf("onelake: missing setting %s (environment %s or the settings file %s)",
                 paste(missing, collapse = ", "), paste(SETTINGS[missing], collapse = ", "), path), call. = FALSE)
  }
  settings
}

.tls <- function(settings) {
  if (!is.null(settings[["ca_file"]]) && nzchar(settings[["ca_file"]])) httr::config(cainfo = settings[["ca_file"]]) else httr::config()
}

.client_token <- function(settings) {
  if (!is.null(settings[["broker_token"]]) && nzchar(settings[["broker_token"]])) return(settings[["broker_token"]])
  if (!is.null(settings[["broker_token_file"]])) return(trimws(paste(readLines(settings[["broker_token_file"]], warn = FALSE), collapse = "")))
  stop("onelake: the broker needs a client token: set ONELAKE_BROKER_TOKEN or ONELAKE_BROKER_TOKEN_FILE", call. = FALSE)
}

.token <- function(settings) {
  key <- paste(settings[["broker_url"]], settings[["scope"]])
  cached <- .state$token
  if (!is.null(cached) && identical(cached$key, key) && Sys.time() < cached$refresh_on) return(cached$value)
  started <- Sys.time()
  answer <- httr::GET(
    paste0(sub("/+$", "", settings[["broker_url"]]), "/onelake/token"),
    query = list(scope = settings[["scope"]]),
    httr::add_headers(Authorization = paste("Bearer", .client_token(settings)), Accept = "application/json"),
    .tls(settings), httr::timeout(30)
  )
  if (httr::status_code(answer) != 200) {
    reason <- tryCatch(httr::content(answer, as = "parsed", type = "application/json")$error_description, error = function(e) NULL)
    stop(sprintf("onelake: no OneLake token from the broker at %s: HTTP %d%s", settings[["broker_url"]],
                 httr::status_code(answer), if (is.null(reason)) "" else paste0(" (", reason, ")")), call. = FALSE)
  }
  body <- httr::content(answer, as = "parsed", type = "application/json")
  expires_on <- if (!is.null(body$expires_on)) as.numeric(body$expires_on) else as.numeric(started) + as.numeric(body$expires_in)
  lifetime <- max(expires_on - as.numeric(started), 0)
  margin <- min(300, lifetime / 2)
  .state$token <- list(key = key, value = body$access_token, refresh_on = as.POSIXct(expires_on - margin, origin = "1970-01-01"))
  .state$broker_calls <- (if (is.null(.state$broker_calls)) 0 else .state$broker_calls) + 1
  body$access_token
}

.normal <- function(parts, original) {
  kept <- character(0)
  for (part in parts) {
    if (part %in% c("", ".")) next
    if (part == "..") {
      if (length(kept) <= 1) stop(sprintf("onelake: %s climbs above its workspace", original), call. = FALSE)
      kept <- kept[-length(kept)]
    } else {
      kept <- c(kept, part)
    }
  }
  paste(kept, collapse = "/")
}

#' The `workspace/item/...` path a file browser path, an `onelake://` URL or an `abfss://` URL names.
onelake_path <- function(path, settings = onelake_settings()) {
  root <- paste(settings[["workspace"]], gsub("^/+|/+$", "", settings[["root"]]), sep = "/")
  notebook <- Sys.getenv("ONELAKE_NOTEBOOK_DIR")
  if (!nzchar(notebook)) notebook <- root
  if (grepl("^abfss?://", path)) {
    parts <- regmatches(path, regexec("^abfss?://([^@/]+)@([^/]+)(/.*)?$", path))[[1]]
    if (length(parts) == 0) stop(sprintf("onelake: %s is not a OneLake URL: abfss://<workspace>@<onelake host>/<item>/...", path), call. = FALSE)
    return(.normal(c(utils::URLdecode(parts[2]), strsplit(utils::URLdecode(parts[4]), "/")[[1]]), path))
  }
  rest <- sub("^onelake://", "", path)
  base <- if (startsWith(rest, "//")) "" else if (startsWith(rest, "/")) root else notebook
  .normal(c(strsplit(base, "/")[[1]], strsplit(rest, "/")[[1]]), path)
}

.quote <- function(path) {
  paste(vapply(strsplit(path, "/")[[1]], utils::URLencode, "", reserved = TRUE), collapse = "/")
}

.request <- function(method, url, settings, ..., headers = character(0)) {
  headers <- c(Authorization = paste("Bearer", .token(settings)), `x-ms-version` = SERVICE_VERSION, headers)
  answer <- httr::VERB(method, url, httr::add_headers(.headers = headers), .tls(settings), httr::timeout(300), ...)
  status <- httr::status_code(answer)
  if (status >= 400) {
    code <- httr::headers(answer)[["x-ms-error-code"]]
    reason <- switch(as.character(status), "404" = "no such file or folder", "403" = "OneLake denied access", "")
    stop(sprintf("onelake: %s %s: HTTP %d %s%s", method, sub("\\?.*$", "", url), status,
                 if (is.null(code)) "" else code, if (nzchar(reason)) paste0(" (", reason, ")") else ""), call. = FALSE)
  }
  answer
}

.endpoint <- function(settings) sub("/+$", "", settings[["endpoint"]])
.blob_url <- function(settings, full) paste0(sub("\\.dfs\\.", ".blob.", .endpoint(settings)), "/", .quote(full))

#' Copy a OneLake file to a local file (written to a temporary name, renamed when complete).
onelake_download <- function(path, dest = basename(path)) {
  settings <- onelake_settings()
  partial <- paste0(dest, ".part")
  .request("GET", .blob_url(settings, onelake_path(path, settings)), settings, httr::write_disk(partial, overwrite = TRUE))
  file.rename(partial, dest)
  invisible(dest)
}

#' Copy a local file to OneLake in one Put Blob: OneLake holds the old or the new file, never half.
onelake_upload <- function(src, path) {
  settings <- onelake_settings()
  full <- onelake_path(path, settings)
  .request("PUT", .blob_url(settings, full), settings, body = httr::upload_file(src, type = "application/octet-stream"),
           headers = c(`x-ms-blob-type` = "BlockBlob"))
  invisible(full)
}

#' `read.csv` of a OneLake file; `...` goes to `read.csv`.
onelake_read_csv <- function(path, ...) {
  local <- tempfile(fileext = ".csv")
  on.exit(unlink(local), add = TRUE)
  onelake_download(path, local)
  utils::read.csv(local, ...)
}

#' `write.csv` into a OneLake file (one atomic Put Blob); `...` goes to `write.csv`.
onelake_write_csv <- function(x, path, row.names = FALSE, ...) {
  local <- tempfile(fileext = ".csv")
  on.exit(unlink(local), add = TRUE)
  utils::write.csv(x, local, row.names = row.names, ...)
  onelake_upload(local, path)
}

#' The entries of a OneLake folder (List Paths, every page): name, is_dir, size, last_modified.
onelake_ls <- function(path = "") {
  settings <- onelake_settings()
  full <- onelake_path(if (nzchar(path)) path else "onelake://", settings)
  workspace <- strsplit(full, "/")[[1]][1]
  directory <- sub(paste0("^", workspace, "/?"), "", full)
  rows <- list()
  continuation <- NULL
  repeat {
    query <- list(resource = "filesystem", recursive = "false", directory = directory, continuation = continuation)
    answer <- .request("GET", paste0(.endpoint(settings), "/", .quote(workspace)), settings, query = query)
    listed <- jsonlite::fromJSON(httr::content(answer, as = "text", encoding = "UTF-8"), simplifyVector = FALSE)$paths
    for (entry in listed) {
      rows[[length(rows) + 1]] <- data.frame(
        name = basename(entry$name), is_dir = identical(entry$isDirectory, "true") || isTRUE(entry$isDirectory),
        size = as.numeric(if (is.null(entry$contentLength)) 0 else entry$contentLength),
        last_modified = entry$lastModified, stringsAsFactors = FALSE
      )
    }
    continuation <- httr::headers(answer)[["x-ms-continuation"]]
    if (is.null(continuation) || !nzchar(continuation)) break
  }
  if (length(rows) == 0) {
    return(data.frame(name = character(0), is_dir = logical(0), size = numeric(0), last_modified = character(0)))
  }
  do.call(rbind, rows)
}
