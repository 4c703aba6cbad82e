// The token form: where to go after it (the page asked for) and a failed attempt, in words.
const query = new URLSearchParams(location.search);
const next = query.get("next") || "/";
document.getElementById("next").value = next.startsWith("/") && !next.startsWith("//") ? next : "/";
if (query.get("failed")) {
  document.getElementById("failed").hidden = false;
  document.getElementById("token").setAttribute("aria-invalid", "true");
}
