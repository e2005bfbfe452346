package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStyleValidate(t *testing.T) {
	cases := []struct {
		name  string
		style Style
		field string // "" means valid
	}{
		{"zero value", Style{}, ""},
		{"full", Style{FontFamily: `"Open Sans", Arial, sans-serif`, FontSize: "14.5px", TextColor: "#abc", ButtonBackground: "rgb(10, 20, 30)",
			ButtonTextColor: "rgba(0,0,0,0.5)", ContainerBackground: "white", ContentWidth: 320, LinkColor: "#11223344", PageBackground: "#FFFFFF"}, ""},
		{"font family injection", Style{FontFamily: "Arial; background:url(x)"}, "FontFamily"},
		{"font family tag", Style{FontFamily: "Arial</style>"}, "FontFamily"},
		{"font size unit", Style{FontSize: "16em"}, "FontSize"},
		{"font size too big", Style{FontSize: "72px"}, "FontSize"},
		{"font size words", Style{FontSize: "large"}, "FontSize"},
		{"color injection", Style{TextColor: "red;x:y"}, "TextColor"},
		{"color hex length", Style{ButtonBackground: "#12345"}, "ButtonBackground"},
		{"color bad hex", Style{ButtonTextColor: "#ggg"}, "ButtonTextColor"},
		{"rgb with expression", Style{ContainerBackground: "rgb(expression(1))"}, "ContainerBackground"},
		{"link color", Style{LinkColor: "url(x)"}, "LinkColor"},
		{"page color", Style{PageBackground: "\"red\""}, "PageBackground"},
		{"width small", Style{ContentWidth: 200}, "ContentWidth"},
		{"width big", Style{ContentWidth: 1200}, "ContentWidth"},
		{"width negative", Style{ContentWidth: -1}, "ContentWidth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.style.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var se *StyleError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.field, se.Field)
			assert.ErrorIs(t, err, ErrInvalidStyle)
		})
	}
}

func TestStyleWithDefaults(t *testing.T) {
	s := Style{ButtonBackground: " #123456 "}.WithDefaults()
	assert.Equal(t, Style{
		FontFamily: StyleDefaultFontFamily, FontSize: StyleDefaultFontSize, TextColor: StyleDefaultTextColor,
		ButtonBackground: "#123456", ButtonTextColor: StyleDefaultButtonTextColor, ContainerBackground: StyleDefaultContainerBackground,
		ContentWidth: StyleDefaultContentWidth, LinkColor: "#123456", PageBackground: StyleDefaultPageBackground,
	}, s)
}

func TestStyleScale(t *testing.T) {
	assert.Equal(t, "24px", styleScale("16px", 1.5))
	assert.Equal(t, "23pt", styleScale("15pt", 1.5))
	assert.Equal(t, "29px", styleScale("14.5px", 2))
}
