with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select

        ----------  ids
        sku,

        ----------  text
        product_name,
        category,
        brand,

        ----------  numerics
        list_price

    from source

)

select * from renamed
