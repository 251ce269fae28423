// Product page photos: a thumbnail is a link that reloads the page with ?image=; this shows the photo
// large in place instead, so switching photos needs no round trip. Without JavaScript the links still work.
(function () {
  "use strict";
  var gallery = document.querySelector("[data-gallery]");
  if (!gallery) {
    return;
  }
  var main = gallery.querySelector(".gallery-main");
  var thumbs = gallery.querySelectorAll(".gallery-thumbs a[data-src]");
  if (!main || !thumbs.length) {
    return;
  }
  var sizes = gallery.getAttribute("data-sizes") || "100vw";

  function photo(data) {
    var img = document.createElement("img");
    img.src = data.src;
    img.alt = data.alt;
    img.width = Number(data.width);
    img.height = Number(data.height);
    img.className = "gallery-photo";
    if (!data.webp) {
      return img;
    }
    img.srcset = data.srcset;
    img.sizes = sizes;
    var picture = document.createElement("picture");
    var source = document.createElement("source");
    source.type = "image/webp";
    source.srcset = data.webp;
    source.sizes = sizes;
    picture.appendChild(source);
    picture.appendChild(img);
    return picture;
  }

  function show(link) {
    var shown = main.querySelector("picture, img");
    main.replaceChild(photo(link.dataset), shown);
    main.href = link.dataset.full;
    thumbs.forEach(function (thumb) {
      if (thumb === link) {
        thumb.setAttribute("aria-current", "true");
      } else {
        thumb.removeAttribute("aria-current");
      }
    });
  }

  thumbs.forEach(function (link) {
    link.addEventListener("click", function (event) {
      // A click meant to open a new tab or window keeps its usual meaning.
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      show(link);
      // Reloading or sharing the page then shows the same photo.
      history.replaceState(history.state, "", link.href);
    });
  });
})();
