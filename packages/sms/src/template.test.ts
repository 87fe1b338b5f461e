import { describe, expect, it } from "vitest";
import { renderTemplate, templateVariables } from "./template.js";

describe("renderTemplate", () => {
  it("fills placeholders with string and number values", () => {
    expect(renderTemplate("Hi {{name}}, you owe {{amount}}", { name: "Ana", amount: 12.5 })).toEqual({
      ok: true,
      text: "Hi Ana, you owe 12.5",
    });
  });

  it("allows whitespace inside the braces", () => {
    expect(renderTemplate("Hi {{ name }} / {{\tname}}", { name: "Ana" })).toEqual({
      ok: true,
      text: "Hi Ana / Ana",
    });
  });

  it("accepts dots, dashes and underscores in names as flat keys", () => {
    const result = renderTemplate("{{user.first-name}} {{_id}}", { "user.first-name": "Ana", _id: 7 });
    expect(result).toEqual({ ok: true, text: "Ana 7" });
  });

  it("reports every missing variable once, in order of first appearance", () => {
    expect(renderTemplate("{{b}} {{a}} {{b}} {{ok}} {{ c }}", { ok: "x" })).toEqual({
      ok: false,
      missing: ["b", "a", "c"],
    });
  });

  it("does not read variables off the object prototype", () => {
    expect(renderTemplate("{{constructor}} {{toString}}", {})).toEqual({
      ok: false,
      missing: ["constructor", "toString"],
    });
  });

  it("inserts values literally without expanding placeholders or replacement patterns in them", () => {
    const result = renderTemplate("{{a}} {{b}}", { a: "{{b}}", b: "$& $1 $$" });
    expect(result).toEqual({ ok: true, text: "{{b}} $& $1 $$" });
  });

  it("renders an empty string value rather than reporting it missing", () => {
    expect(renderTemplate("[{{x}}]", { x: "" })).toEqual({ ok: true, text: "[]" });
  });

  it("leaves text that is not a placeholder as written", () => {
    const template = "{{ two words }} {{1st}} {single} {{}} {{";
    expect(renderTemplate(template, {})).toEqual({ ok: true, text: template });
  });
});

describe("templateVariables", () => {
  it("lists distinct placeholder names in order", () => {
    expect(templateVariables("{{b}} {{ a }} {{b}} {{1x}}")).toEqual(["b", "a"]);
  });
});
